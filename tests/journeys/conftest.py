"""Journeys: whole user stories through ``kuaidi`` as a subprocess, against the sim.

Each test is one story a researcher on a rented GPU box lives through; it asserts what they see
(exit code, stdout, how many stderr lines and what they say) and what is left on disk (files,
no partials, no refs for revisions nothing resolved). ``run_kuaidi`` runs the CLI with a temp
HOME and an environment that holds only what the test gives it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from kuaidi.sim.content import DEFAULT_REPOS, Catalog, RepoSpec

ROOT = Path(__file__).resolve().parents[2]
TINY = "kuaidi-sim/tiny-model"  # 5 files (64 KiB weights); also on ModelScope
DATASET = "kuaidi-sim/tiny-dataset"  # data/… + README.md
GATED = "kuaidi-sim/gated-model"
BIG = "kuaidi-journey/big"  # 10 MiB of weights: more than a small tmpfs holds
HOSTS = ["hf-mirror", "hf-cdn", "modelscope"]


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def journey_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    big = RepoSpec(BIG, "config.json:1KB,model.safetensors:10MB", seed=31, revisions=1)
    return Catalog(tmp_path_factory.mktemp("journey-content"), [*DEFAULT_REPOS, big])


@pytest.fixture
def sim(journey_catalog: Catalog) -> Iterator[Sim]:
    with Sim("clean", catalog=journey_catalog, hosts=HOSTS) as started:
        yield started


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def base_env(home: Path, sim: Sim | None) -> dict[str, str]:
    """A user's shell on the box: HOME, PATH, the sim as HF_ENDPOINT and ModelScope."""
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), COLUMNS="200")
    if sim is not None:
        env.update(sim.env())
    return env


def run_kuaidi(
    args: list[str], env: dict[str, str], *, timeout: float = 120, cwd: Path | None = None
) -> Run:
    """``python -m kuaidi ARGS`` with exactly ``env``; never hangs past ``timeout``."""
    proc = subprocess.run(
        [sys.executable, "-m", "kuaidi", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd or ROOT,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def partials(root: Path) -> list[Path]:
    """Partial files kuaidi or huggingface_hub left under ``root``."""
    suffixes = (".kuaidi-part", ".kuaidi-journal", ".incomplete")
    return [p for p in root.rglob("*") if p.name.endswith(suffixes)] if root.exists() else []


def tree_digest(root: Path) -> dict[str, tuple[str, int, float]]:
    """Every entry under ``root`` with its kind, size and mtime (for --dry-run: nothing moved)."""
    out: dict[str, tuple[str, int, float]] = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        kind = "link" if p.is_symlink() else "dir" if p.is_dir() else "file"
        out[p.relative_to(root).as_posix()] = (kind, st.st_size, st.st_mtime)
    return out


def expected(sim: Sim, repo_id: str, repo_type: str = "model") -> dict[str, bytes]:
    commit = sim.catalog.get(repo_type, repo_id).resolve("main")
    return {p: f.blob_path.read_bytes() for p, f in commit.files.items()}


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cache" not in p.relative_to(root).parts
    }
