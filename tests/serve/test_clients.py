"""Real clients through a real ``kuaidi serve`` process (upstream: the cn-link sim): byte-exact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from tests.serve.server import ROOT, SERVE_REPO, Server, clean_env, expected, tree_bytes
from tests.simfixtures import run_python

pytestmark = pytest.mark.timeout(240)

SNAPSHOT = """
import json, sys
from huggingface_hub import snapshot_download
path = snapshot_download({repo!r}, repo_type={kind!r})
print(json.dumps({{"path": path}}))
"""


def _hf_env(server: Server, home: Path, **extra: str) -> dict[str, str]:
    return clean_env(home, HF_ENDPOINT=server.url, HF_HUB_CACHE=str(home / "hub"), **extra)


def _snapshot(python: str, server: Server, home: Path, repo: str, kind: str = "model") -> Path:
    out = run_python(SNAPSHOT.format(repo=repo, kind=kind), _hf_env(server, home), python=python)
    assert out.get("returncode") == 0, out.get("stderr")
    return Path(out["path"])


def test_hub2_snapshot_download_byte_exact(cn_sim: Sim, servers, tmp_path: Path) -> None:
    server = servers(cn_sim)
    path = _snapshot(sys.executable, server, tmp_path / "c1", SERVE_REPO.repo_id)
    assert tree_bytes(path) == expected(cn_sim, SERVE_REPO.repo_id)
    # A dataset too, and a second client now served from the store.
    data = _snapshot(sys.executable, server, tmp_path / "c2", "kuaidi-sim/tiny-dataset", "dataset")
    assert tree_bytes(data) == expected(cn_sim, "kuaidi-sim/tiny-dataset", "dataset")
    again = _snapshot(sys.executable, server, tmp_path / "c3", SERVE_REPO.repo_id)
    assert tree_bytes(again) == expected(cn_sim, SERVE_REPO.repo_id)


def test_hub026_snapshot_download_byte_exact(cn_sim: Sim, servers, tmp_path: Path) -> None:
    hf0 = os.environ.get("KUAIDI_HF0_PYTHON") or str(ROOT / ".venv-hf0/bin/python")
    if not Path(hf0).exists():
        pytest.skip("huggingface_hub 0.26 venv not found (KUAIDI_HF0_PYTHON)")
    server = servers(cn_sim)
    path = _snapshot(hf0, server, tmp_path / "c1", SERVE_REPO.repo_id)
    assert tree_bytes(path) == expected(cn_sim, SERVE_REPO.repo_id)


def test_hf_download_cli_and_offline_load_of_the_store(
    cn_sim: Sim, servers, tmp_path: Path
) -> None:
    server = servers(cn_sim)
    hf = Path(sys.executable).with_name("hf")
    home = tmp_path / "c1"
    proc = subprocess.run(
        [str(hf), "download", SERVE_REPO.repo_id],
        env=_hf_env(server, home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    want = expected(cn_sim, SERVE_REPO.repo_id)
    assert tree_bytes(Path(proc.stdout.strip().splitlines()[-1])) == want
    # huggingface_hub offline, reading the server's own store as its cache.
    offline = run_python(
        SNAPSHOT.format(repo=SERVE_REPO.repo_id, kind="model"),
        clean_env(tmp_path / "c2", HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(server.store)),
    )
    assert offline.get("returncode") == 0, offline.get("stderr")
    assert tree_bytes(Path(offline["path"])) == want


def test_aria2c_four_connections_on_a_resolve_url(cn_sim: Sim, servers, tmp_path: Path) -> None:
    aria2c = shutil.which("aria2c")
    if aria2c is None:
        pytest.skip("aria2c not installed")
    server = servers(cn_sim)
    url = f"{server.url}/{SERVE_REPO.repo_id}/resolve/main/model.safetensors"
    proc = subprocess.run(
        [aria2c, "-x", "4", "-s", "4", "-k", "1M", "--no-conf", "--allow-overwrite=true",
         "-d", str(tmp_path), "-o", "m.bin", url],
        capture_output=True, text=True, timeout=120, env=clean_env(tmp_path / "h"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:]
    want = expected(cn_sim, SERVE_REPO.repo_id)["model.safetensors"]
    assert (tmp_path / "m.bin").read_bytes() == want


def test_kuaidi_get_through_serve(cn_sim: Sim, servers, tmp_path: Path) -> None:
    server = servers(cn_sim)
    home = tmp_path / "c1"
    proc = subprocess.run(
        [sys.executable, "-m", "kuaidi", "get", SERVE_REPO.repo_id, "--json",
         "--endpoint", server.url, "--modelscope-endpoint", "none", "--proxy", "none",
         "--cache-dir", str(home / "hub")],
        env=clean_env(home), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"]
    assert tree_bytes(Path(result["path"])) == expected(cn_sim, SERVE_REPO.repo_id)
