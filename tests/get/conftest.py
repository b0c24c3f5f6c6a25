"""Fixtures for the get tests: a tiny deterministic repo catalog and an HF-protocol server."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.get.hfserver import HFServer, Repo

KUAIDI = [sys.executable, "-m", "kuaidi"]
TOKEN = "hf_testtoken_0123456789"


def blob(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def model_files() -> dict[str, bytes]:
    return {
        ".gitattributes": b"*.safetensors filter=lfs\n",
        "README.md": b"# tiny\n",
        "config.json": b'{"model_type": "gpt2", "n_layer": 2}\n',
        "model.safetensors": blob(1, 3_000_000),
        "shards/part-1.bin": blob(2, 600_000),
        "shards/part-2.bin": blob(3, 20_000),
        "tokenizer/vocab.txt": b"a\nb\nc\n" * 100,
        "copy-of-config.json": b'{"model_type": "gpt2", "n_layer": 2}\n',  # same blob, two paths
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def repos() -> list[Repo]:
    return [
        Repo("org/tiny", model_files(), revisions={"v1.0": ""}),
        Repo("org/data", {"train/a.parquet": blob(4, 50_000), "README.md": b"d"}, "dataset"),
        Repo("org/gated", {"config.json": b"{}", "w.safetensors": blob(5, 100_000)}, gated=True),
    ]


@pytest.fixture
def server(repos: list[Repo]) -> Iterator[HFServer]:
    with HFServer(repos, token=TOKEN) as s:
        yield s


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
