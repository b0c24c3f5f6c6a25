"""Fixtures for the serve tests: a cn-link sim with a few-MiB model, and server processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kuaidi.sim import Sim
from kuaidi.sim.content import DEFAULT_REPOS
from tests.serve.server import SERVE_REPO, Server
from tests.simfixtures import sim_cache, sim_factory  # noqa: F401  (fixtures)

REPOS = [*DEFAULT_REPOS, SERVE_REPO]


@pytest.fixture
def cn_sim(sim_factory: Callable[..., Sim]) -> Sim:  # noqa: F811
    return sim_factory("cn-link", repos=REPOS)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start ``kuaidi serve`` processes; each is stopped at teardown."""
    started: list[Server] = []

    def make(sim: Sim | None, *args: str, store: Path | None = None, **kw: Any) -> Server:
        server = Server(sim, store or tmp_path / "store", tmp_path / "home", *args)
        started.append(server)
        return server.start(**kw)

    yield make
    for server in started:
        server.stop()
