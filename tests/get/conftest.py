"""Fixtures for the get tests: the sim (a catalog generated once per session) and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KUAIDI = [sys.executable, "-m", "kuaidi"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``kuaidi`` in a subprocess with a clean HF environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    base["HF_HOME"] = env.pop("HF_HOME") if env and "HF_HOME" in env else "/nonexistent-hf-home"
    return subprocess.run(
        [*KUAIDI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**base, **(env or {})},
        cwd=Path(__file__).resolve().parents[2],
    )


def read_tree(root: Path) -> dict[str, bytes]:
    """Every regular file (symlinks followed) under ``root``, by relative path."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".cache" not in p.relative_to(root).parts:
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


# -- the sim (kuaidi.sim): the acceptance tests run against it ------------------------------
BIG_SPEC = "config.json:1KB,model.safetensors:3000000B,small.bin:300KB"
RESUME_SPEC = "config.json:1KB,model.safetensors:24MB,small.bin:300KB"


@pytest.fixture(scope="session")
def sim_catalog(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from kuaidi.sim.content import DEFAULT_REPOS, Catalog, RepoSpec

    specs = [
        *DEFAULT_REPOS,
        RepoSpec("kuaidi-test/big", BIG_SPEC, seed=5, revisions=1),
        RepoSpec("kuaidi-test/resume", RESUME_SPEC, seed=6, revisions=1),
    ]
    return Catalog(tmp_path_factory.mktemp("sim-content"), specs)


@pytest.fixture
def make_sim(sim_catalog):  # type: ignore[no-untyped-def]
    """``make_sim(profile="clean", **Sim kwargs)`` → a started Sim, stopped after the test."""
    from kuaidi.sim import Sim

    started = []

    def make(profile: str = "clean", **kw: object) -> Sim:
        kw.setdefault("hosts", ["hf-mirror", "hf-cdn"])
        sim = Sim(profile, catalog=sim_catalog, **kw).start()  # type: ignore[arg-type]
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def expected(
    sim, repo_id: str, revision: str = "main", repo_type: str = "model"
) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """The catalog's bytes for a revision: what every download must equal."""
    commit = sim.catalog.get(repo_type, repo_id).resolve(revision)
    return {p: f.blob_path.read_bytes() for p, f in commit.files.items()}
