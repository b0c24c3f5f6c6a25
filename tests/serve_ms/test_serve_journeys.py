"""Journeys through a ``kuaidi serve`` subprocess whose upstream is the sim's HF host: the real
modelscope SDK and huggingface_hub download through it; gated repos only for granted tokens."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN, SIM_TOKEN_NO_ACCESS

GATED = "kuaidi-sim/gated-model"

_MS = r"""
import json, sys
from modelscope import snapshot_download
try:
    print("RESULT " + json.dumps({"path": str(snapshot_download(**json.loads(sys.argv[1])))}))
except Exception as exc:
    print("RESULT " + json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""

_HF = r"""
import json, sys
from huggingface_hub import snapshot_download
try:
    print("RESULT " + json.dumps({"path": snapshot_download(**json.loads(sys.argv[1]))}))
except Exception as exc:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    code = getattr(getattr(exc, "response", None), "headers", {}).get("X-Error-Code")
    print("RESULT " + json.dumps({"error": type(exc).__name__, "status": status, "code": code}))
"""


@dataclass
class Served:
    url: str
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), NO_PROXY="*")
    return env


@contextmanager
def kuaidi_serve(sim: Sim, tmp: Path, *args: str) -> Iterator[Served]:
    """``kuaidi serve`` on a free loopback port, upstream the sim's hf-mirror; stopped after."""
    home = tmp / "serve-home"
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = tmp / "serve.log"
    cmd = [
        sys.executable,
        "-m",
        "kuaidi",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--cache-dir",
        str(tmp / "store"),
        "--endpoint",
        sim.url("hf-mirror"),
        "--modelscope-endpoint",
        "none",
        "--proxy",
        "none",
        *args,
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=clean_env(home), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"kuaidi serve exited {proc.returncode}: {log.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "kuaidi serve did not listen within 30 s"
                time.sleep(0.1)
        yield Served(f"http://127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def run_client(
    code: str, env: dict[str, str], *, python: str = sys.executable, **kwargs: object
) -> dict:
    proc = subprocess.run(
        [python, "-c", code, json.dumps(kwargs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def ms_client(served: Served, tmp: Path, name: str, **kwargs: object) -> dict:
    env = clean_env(tmp / name)
    env.update(MODELSCOPE_ENDPOINT=served.url, MODELSCOPE_CACHE=str(tmp / name / "ms"))
    (tmp / name).mkdir(parents=True, exist_ok=True)
    return run_client(_MS, env, **kwargs)


def hf_client(
    served: Served, tmp: Path, name: str, *, python: str = sys.executable, **kwargs: object
) -> dict:
    env = clean_env(tmp / name)
    env.update(
        HF_ENDPOINT=served.url,
        HF_HOME=str(tmp / name / "hf"),
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
    )
    (tmp / name).mkdir(parents=True, exist_ok=True)
    return run_client(_HF, env, python=python, **kwargs)


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def hub_hashes(sim: Sim, repo_id: str, repo_type: str = "model") -> dict[str, str]:
    repo = sim.catalog.get(repo_type, repo_id)
    assert repo is not None
    return {path: f.sha256 for path, f in repo.head.files.items()}


@pytest.fixture
def sim(sim_factory: Callable[..., Sim]) -> Sim:
    return sim_factory("clean", hosts=["hf-mirror", "hf-cdn"])


def test_modelscope_sdk_through_kuaidi_serve_is_byte_exact(sim: Sim, tmp_path: Path) -> None:
    with kuaidi_serve(sim, tmp_path) as served:
        first = ms_client(served, tmp_path, "c1", model_id="kuaidi-sim/demo-model")
        again = ms_client(served, tmp_path, "c2", model_id="kuaidi-sim/demo-model")
        hf = hf_client(served, tmp_path, "c3", repo_id="kuaidi-sim/demo-model")
    expected = hub_hashes(sim, "kuaidi-sim/demo-model")
    for result in (first, again):
        assert "path" in result, result
        assert tree_hashes(Path(result["path"])) == expected
    # The same blobs an HF client gets (one store for both fronts).
    assert tree_hashes(Path(hf["path"])) == expected
    # Its LFS bytes crossed from upstream (the CDN) once for three clients.
    repo = sim.catalog.get("model", "kuaidi-sim/demo-model")
    assert repo is not None
    lfs = sum(f.size for f in repo.head.files.values() if f.lfs)
    assert sim.host("hf-cdn").bytes_sent <= lfs * 1.01


def hub_python(version: str) -> str:
    if version == "2.x":
        return sys.executable
    hf0 = os.environ.get("KUAIDI_HF0_PYTHON", "")
    if not hf0 or not Path(hf0).exists():
        pytest.skip("huggingface_hub 0.26 venv not found (set KUAIDI_HF0_PYTHON)")
    return hf0


@pytest.mark.parametrize("hub", ["2.x", "0.26"])
def test_gated_repo_only_for_a_granted_token(sim: Sim, tmp_path: Path, hub: str) -> None:
    py = hub_python(hub)
    with kuaidi_serve(sim, tmp_path, "--token", SIM_TOKEN) as served:
        granted = hf_client(served, tmp_path, "g", python=py, repo_id=GATED, token=SIM_TOKEN)
        anonymous = hf_client(served, tmp_path, "a", python=py, repo_id=GATED, token=False)
        user = hf_client(served, tmp_path, "u", python=py, repo_id=GATED, token=SIM_TOKEN_NO_ACCESS)
        log = served.text()
    assert "path" in granted, granted
    assert tree_hashes(Path(granted["path"])) == hub_hashes(sim, GATED)
    assert anonymous["error"] == "GatedRepoError" and anonymous["status"] == 401, anonymous
    assert user["error"] == "GatedRepoError" and user["status"] == 403, user
    assert anonymous["code"] == user["code"] == "GatedRepo"
    assert SIM_TOKEN not in log and SIM_TOKEN_NO_ACCESS not in log


def test_share_gated_serves_anonymous_clients(sim: Sim, tmp_path: Path) -> None:
    with kuaidi_serve(sim, tmp_path, "--token", SIM_TOKEN, "--share-gated") as served:
        anonymous = hf_client(served, tmp_path, "a", repo_id=GATED, token=False)
        log = served.text()
    assert "path" in anonymous, anonymous
    assert tree_hashes(Path(anonymous["path"])) == hub_hashes(sim, GATED)
    assert SIM_TOKEN not in log


def test_modelscope_sdk_gated_model_through_kuaidi_serve(sim: Sim, tmp_path: Path) -> None:
    # ModelScope's LLM-Research/Llama-Sim-1B is the Hub's gated meta-llama/Llama-Sim-1B.
    with kuaidi_serve(sim, tmp_path, "--token", SIM_TOKEN) as served:
        anonymous = ms_client(served, tmp_path, "a", model_id="LLM-Research/Llama-Sim-1B")
        granted = ms_token_client(served, tmp_path, "g", SIM_TOKEN, "LLM-Research/Llama-Sim-1B")
        user = ms_token_client(
            served, tmp_path, "u", SIM_TOKEN_NO_ACCESS, "LLM-Research/Llama-Sim-1B"
        )
        log = served.text()
    for refused in (anonymous, user):
        assert "[403]" in refused.get("message", ""), refused
    assert "path" in granted, granted
    assert tree_hashes(Path(granted["path"])) == hub_hashes(sim, "meta-llama/Llama-Sim-1B")
    assert SIM_TOKEN not in log and SIM_TOKEN_NO_ACCESS not in log


def ms_token_client(served: Served, tmp: Path, name: str, token: str, model_id: str) -> dict:
    env = clean_env(tmp / name)
    env.update(
        MODELSCOPE_ENDPOINT=served.url,
        MODELSCOPE_CACHE=str(tmp / name / "ms"),
        MODELSCOPE_API_TOKEN=token,
    )
    (tmp / name).mkdir(parents=True, exist_ok=True)
    return run_client(_MS, env, model_id=model_id)


def test_private_repo_is_not_lent_to_modelscope_clients(sim: Sim, tmp_path: Path) -> None:
    # The server's token can read kuaidi-sim/private-model; an anonymous LAN client may not.
    with kuaidi_serve(sim, tmp_path, "--token", SIM_TOKEN) as served:
        ms = ms_client(served, tmp_path, "m", model_id="kuaidi-sim/private-model")
    assert "[404]" in ms.get("message", ""), ms


def test_private_repo_is_not_lent_to_anonymous_hf_clients(sim: Sim, tmp_path: Path) -> None:
    with kuaidi_serve(sim, tmp_path, "--token", SIM_TOKEN) as served:
        hf = hf_client(served, tmp_path, "h", repo_id="kuaidi-sim/private-model", token=False)
    assert "error" in hf, hf
