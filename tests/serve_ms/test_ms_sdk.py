"""The real modelscope SDK (1.40.2 → modelscope_hub 0.5.1) through the ModelScope front, over
a Hub backed by the sim's HF host (tests/serve_ms/simhub.py), served by uvicorn on loopback."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN, SIM_TOKEN_NO_ACCESS
from tests.serve_ms.simhub import ms_front

_RUNNER = r"""
import json, sys
from modelscope import snapshot_download, dataset_snapshot_download
args = json.loads(sys.argv[1])
fn = dataset_snapshot_download if args.pop("dataset", False) else snapshot_download
try:
    print("RESULT " + json.dumps({"path": str(fn(**args))}))
except Exception as exc:
    print("RESULT " + json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def run_sdk(
    endpoint: str, tmp: Path, *, env: dict[str, str] | None = None, **kwargs: object
) -> dict:
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    child_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "MODELSCOPE_ENDPOINT": endpoint,
        "MODELSCOPE_CACHE": str(tmp / "cache"),
        "NO_PROXY": "*",
        **(env or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps(kwargs)],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    return json.loads(lines[-1].removeprefix("RESULT "))


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def hub_hashes(sim: Sim, repo_type: str, repo_id: str) -> dict[str, str]:
    repo = sim.catalog.get(repo_type, repo_id)
    assert repo is not None
    return {path: f.sha256 for path, f in repo.head.files.items()}


@pytest.fixture
def sim(sim_factory: Callable[..., Sim]) -> Sim:
    return sim_factory("clean", hosts=["hf-mirror", "hf-cdn"])


def test_sdk_snapshot_download_is_byte_exact(sim: Sim, tmp_path: Path) -> None:
    with ms_front(sim) as url:
        model = run_sdk(url, tmp_path / "m", model_id="kuaidi-sim/demo-model")
        data = run_sdk(url, tmp_path / "d", dataset=True, repo_id="kuaidi-sim/tiny-dataset")
    assert "path" in model, model
    assert tree_hashes(Path(model["path"])) == hub_hashes(sim, "model", "kuaidi-sim/demo-model")
    assert "path" in data, data
    got = tree_hashes(Path(data["path"]))
    assert got == hub_hashes(sim, "dataset", "kuaidi-sim/tiny-dataset")


def test_sdk_gated_model_by_its_modelscope_name(sim: Sim, tmp_path: Path) -> None:
    # ModelScope's LLM-Research/Llama-Sim-1B is the Hub's gated meta-llama/Llama-Sim-1B.
    with ms_front(sim, token=SIM_TOKEN) as url:
        anonymous = run_sdk(url, tmp_path / "a", model_id="LLM-Research/Llama-Sim-1B")
        user = run_sdk(
            url,
            tmp_path / "u",
            env={"MODELSCOPE_API_TOKEN": SIM_TOKEN_NO_ACCESS},
            model_id="LLM-Research/Llama-Sim-1B",
        )
        granted = run_sdk(
            url,
            tmp_path / "g",
            env={"MODELSCOPE_API_TOKEN": SIM_TOKEN},
            model_id="LLM-Research/Llama-Sim-1B",
        )
    for refused in (anonymous, user):
        assert "[403]" in refused["message"] and "is gated" in refused["message"], refused
    assert "path" in granted, granted
    got = tree_hashes(Path(granted["path"]))
    assert got == hub_hashes(sim, "model", "meta-llama/Llama-Sim-1B")
    assert not sim.log("hf-cdn").saw_token(SIM_TOKEN)


def test_a_response_whose_fill_fails_is_aborted(sim: Sim) -> None:
    from starlette.applications import Starlette

    from kuaidi.serve.modelscope import routes
    from tests.serve_ms.fakehub import FakeHub
    from tests.serve_ms.simhub import serving

    hub = FakeHub()
    weights = bytes(range(256)) * 4096  # 1 MiB
    hub.add("org/m", {"model.safetensors": weights}, lfs=("model.safetensors",))
    hub.fail_after["model.safetensors"] = 300_000
    with serving(Starlette(routes=routes(hub))) as url:
        target = f"{url}/api/v1/models/org/m/repo?FilePath=model.safetensors"
        with pytest.raises(httpx.HTTPError):  # a cut, never a clean short 200
            httpx.get(target, timeout=10)
