"""Pytest helpers for any layer's tests that need the sim.

In your ``tests/<layer>/conftest.py``::

    from tests.simfixtures import sim, sim_cache, sim_factory  # noqa: F401  (fixtures)

then::

    def test_resume(sim_factory):
        sim = sim_factory("clean", faults={"hf-cdn": [stall(after="64KiB", times=1)]})
        ...

``sim_factory(...)`` takes the :class:`~kuaidi.sim.Sim` arguments, starts the sim and stops it at
teardown; content is generated once per test session (per xdist worker) in ``sim_cache``.
:func:`run_python` runs a snippet in a subprocess (with a timeout) — the way to drive
huggingface_hub, whose environment variables are read at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kuaidi.sim import Sim


@pytest.fixture(scope="session")
def sim_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One content cache dir per session (per xdist worker)."""
    return tmp_path_factory.mktemp("sim-cache")


@pytest.fixture
def sim_factory(sim_cache: Path) -> Iterator[Callable[..., Sim]]:
    """Build and start Sims; every one is stopped at teardown."""
    started: list[Sim] = []

    def make(profile: str = "clean", **kwargs: Any) -> Sim:
        kwargs.setdefault("cache_dir", sim_cache)
        sim = Sim(profile, **kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(sim_factory: Callable[..., Sim]) -> Sim:
    """A started ``clean`` sim with the default catalog."""
    return sim_factory("clean")


def hf_env(sim: Sim, hf_home: Path, **extra: str) -> dict[str, str]:
    """A subprocess environment pointing huggingface_hub at the sim, isolated under ``hf_home``
    (no user token, no user cache, no proxy)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env.pop(key, None)
    env.update(sim.env())
    env.update(
        HF_HOME=str(hf_home),
        HF_HUB_CACHE=str(hf_home / "hub"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DOWNLOAD_TIMEOUT="5",
        HF_HUB_ETAG_TIMEOUT="5",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def run_python(
    code: str,
    env: dict[str, str],
    *,
    python: str = sys.executable,
    timeout: float = 90,
) -> dict[str, Any]:
    """Run ``code`` in a subprocess; it must print one JSON object as its last stdout line.

    Returns that object plus ``returncode`` and ``stderr`` (tail). On timeout the child is
    killed and ``{"timeout": True}`` returned.
    """
    try:
        proc = subprocess.run(
            [python, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        return {"timeout": True, "stderr": (exc.stderr or b"")[-3000:]}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    result["returncode"] = proc.returncode
    result["stderr"] = proc.stderr[-3000:]
    return result
