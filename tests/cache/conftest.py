"""Fixtures for the cache lifecycle tests: a sim, a cache filled by kuaidi get, tree hashes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kuaidi.get import download
from kuaidi.sim import Sim

TINY = "kuaidi-sim/tiny-model"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sim_content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-content")


@pytest.fixture
def sim(sim_content: Path) -> Iterator[Sim]:
    with Sim("clean", hosts=["hf-mirror", "hf-cdn"], cache_dir=sim_content) as s:
        yield s


@pytest.fixture
def filled(sim: Sim, tmp_path: Path) -> Path:
    """A cache with tiny-model at main (ref) and at v1.0's commit fetched by hash (detached);
    the two revisions share model.safetensors and .gitattributes."""
    cache = tmp_path / "hub"
    ep = sim.url("hf-mirror")
    assert download(TINY, cache_dir=cache, endpoint=ep).ok
    old = sim.catalog.get("model", TINY).resolve("v1.0").sha
    assert download(TINY, revision=old, cache_dir=cache, endpoint=ep).ok
    return cache


def tree_hash(root: Path) -> str:
    """Every entry under root: path, kind, link text or content (nothing followed)."""
    h = hashlib.sha256()
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted([*dirs, *names]):
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                h.update(f"L {rel} {os.readlink(p)}\n".encode())
            elif p.is_dir():
                h.update(f"D {rel}\n".encode())
            else:
                h.update(f"F {rel} ".encode() + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def run_kuaidi(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``kuaidi`` as a user runs it: a subprocess, a temp HOME, no HF_* from the outside."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING", "XDG_"))}
    base.update(HOME=str(home), HF_HOME=str(home / ".cache/huggingface"), NO_PROXY="127.0.0.1")
    return subprocess.run(
        [sys.executable, "-m", "kuaidi", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**base, **(env or {})},
        cwd=REPO_ROOT,
    )


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def hub_offline(cache: Path, repo_id: str, repo_type: str = "model") -> dict[str, bytes]:
    """huggingface_hub's own offline load of a cached repo: {path: bytes}."""
    code = (
        "from huggingface_hub import snapshot_download as s; "
        f"print(s({repo_id!r}, repo_type={repo_type!r}, cache_dir={str(cache)!r}, "
        "local_files_only=True))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_XET": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    root = Path(out.stdout.strip())
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def expected(sim: Sim, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict:
    commit = sim.catalog.get(repo_type, repo_id).resolve(revision)
    return {p: f.blob_path.read_bytes() for p, f in commit.files.items()}


Factory = Callable[..., Any]
