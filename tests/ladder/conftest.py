"""Fixtures for the route-ladder acceptance tests: the sim (mirror, ModelScope, walled origin),
a real tinyproxy, and ``kuaidi get`` in a subprocess with an environment we fully control."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kuaidi.sim import Sim
from kuaidi.sim.content import DEFAULT_REPOS, Catalog, RepoSpec
from kuaidi.sim.proxy import TinyProxy
from tests.conftest import require_binary
from tests.simfixtures import sim_cache, sim_factory  # noqa: F401  (fixtures)

# HF org THUDM is ModelScope's ZhipuAI (kuaidi's built-in idmap knows it).
GLM = "THUDM/GLM-Sim-6B"
GLM_MS = "ZhipuAI/GLM-Sim-6B"
TINY = "kuaidi-sim/tiny-model"  # on the mirror, on ModelScope (same id), on the origin
NESTED = "kuaidi-sim/nested-model"  # not on ModelScope
QWEN = "Qwen/Qwen-Sim-0.5B"  # ModelScope's copy has other bytes (a variant)
LADDER_HOSTS = ["hf-mirror", "hf-cdn", "origin", "origin-cdn", "modelscope"]
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@pytest.fixture(scope="session")
def ladder_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    extra = [RepoSpec(GLM, "tiny", seed=21, modelscope_id=GLM_MS)]
    return Catalog(tmp_path_factory.mktemp("ladder-content"), [*DEFAULT_REPOS, *extra])


@pytest.fixture
def make_sim(ladder_catalog: Catalog) -> Iterator[Callable[..., Sim]]:
    """``make_sim(profile="wall", lacks=[globs], **Sim kwargs)`` → a started Sim."""
    started: list[Sim] = []

    def make(profile: str = "wall", *, lacks: list[str] | None = None, **kw: Any) -> Sim:
        kw.setdefault("hosts", LADDER_HOSTS)
        if lacks:
            overrides = dict(kw.pop("overrides", {}) or {})
            mirror = dict(overrides.get("hf-mirror", {}))
            mirror["options"] = {**mirror.get("options", {}), "lacks": lacks}
            overrides["hf-mirror"] = mirror
            kw["overrides"] = overrides
        sim = Sim(profile, catalog=ladder_catalog, **kw).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def tinyproxy() -> Iterator[TinyProxy]:
    require_binary("tinyproxy")
    with TinyProxy() as proxy:
        yield proxy


def base_env(sim: Sim, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The sim's exports (HF_ENDPOINT, MODELSCOPE_ENDPOINT, KUAIDI_ORIGIN[_HOSTS]) and nothing of
    the caller's HF, ModelScope, proxy or kuaidi settings."""
    drop = ("HF_", "HUGGING", "MODELSCOPE_", "KUAIDI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in (*PROXY_VARS, "no_proxy", "NO_PROXY"):
        env.pop(name, None)
    env.update(sim.env())
    env.update(
        HF_HOME=str(tmp_path / "hf-home"),
        KUAIDI_IDMAP=str(tmp_path / "no-user-idmap.toml"),  # only the built-in table
    )
    env.update(extra)
    return env


def kuaidi_get(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kuaidi", "get", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


def get_json(*args: str, env: dict[str, str], ok: bool = True) -> dict[str, Any]:
    """``kuaidi get … --json``, parsed; asserts the exit status matches ``ok``."""
    out = kuaidi_get(*args, "--json", env=env)
    assert (out.returncode == 0) == ok, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def expected(sim: Sim, repo_id: str, repo_type: str = "model") -> dict[str, bytes]:
    commit = sim.catalog.get(repo_type, repo_id).head
    return {p: f.blob_path.read_bytes() for p, f in commit.files.items()}


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cache" not in p.relative_to(root).parts
    }


def port(sim: Sim, host: str) -> int:
    return urlsplit(sim.url(host)).port or 0


def mirror_name(sim: Sim) -> str:
    """The source name kuaidi gives the sim's mirror (its host:port)."""
    return urlsplit(sim.url("hf-mirror")).netloc


def proxied_hosts(proxy: TinyProxy, sim: Sim) -> set[str]:
    """Sim hosts whose port appears in tinyproxy's log."""
    text = "\n".join(proxy.log_lines())
    return {name for name in sim.hosts if f":{port(sim, name)}" in text}


def ms_file_gets(sim: Sim) -> list[str]:
    """File downloads ModelScope served (``…/repo?FilePath=``), by path."""
    return [
        e.query.get("FilePath", ["?"])[0]
        for e in sim.log("modelscope").requests("*/repo", method="GET")
    ]
