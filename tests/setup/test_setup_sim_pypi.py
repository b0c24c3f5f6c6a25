"""Acceptance against the sim's PyPI mirror: after kuaidi setup the real pip and uv fetch from it
with no flags (HOME, XDG and the uv cache in tmp; no PIP_* / UV_* in the environment)."""

from __future__ import annotations

import hashlib
import sys

import pytest

from kuaidi.setup import apply, plan
from tests.setup.conftest import VENV_BIN, options, run_tool

SIMPLE_PATH = "/pypi/web/simple"  # TUNA's layout
PYTHON = str(VENV_BIN / "python")


@pytest.fixture
def sim_tuna():
    try:
        from kuaidi.sim.pypi import make_app
        from kuaidi.sim.server import Host
        from kuaidi.sim.wheels import demo_index
    except ImportError:  # pragma: no cover - the sim lands separately
        pytest.skip("kuaidi.sim.pypi is not available")
    host = Host("tuna", protocol="pypi", options={"simple_path": SIMPLE_PATH, "seed": 3})
    host.app = make_app(host)
    host.start()
    try:
        yield host, demo_index(3)
    finally:
        host.stop()


def test_pip_config_list_and_download_from_the_sim(home, autodl, sim_tuna, tmp_path):
    host, index = sim_tuna
    url = host.base_url + SIMPLE_PATH
    apply(plan(options(home, autodl, pypi=url)))
    listed = run_tool([sys.executable, "-m", "pip", "config", "list"], home, tmp_path)
    assert f"global.index-url='{url}'" in listed.stdout.splitlines(), listed.stderr
    dest = tmp_path / "dl"
    got = run_tool(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest), "kdemo-lib"],
        home,
        tmp_path,
    )
    assert got.returncode == 0, got.stdout + got.stderr
    newest = index.project("kdemo-lib")[-1]
    assert hashlib.sha256((dest / newest.filename).read_bytes()).hexdigest() == newest.sha256


def test_uv_resolves_a_dependency_chain_from_the_sim(home, autodl, sim_tuna, tmp_path):
    host, index = sim_tuna
    apply(plan(options(home, autodl, pypi=host.base_url + SIMPLE_PATH)))
    run = run_tool(
        [str(VENV_BIN / "uv"), "pip", "install", "--dry-run", "--python", PYTHON, "kdemo-app"],
        home,
        tmp_path,
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
    )
    assert run.returncode == 0, run.stderr
    app, lib = index.project("kdemo-app")[-1], index.project("kdemo-lib")[-1]
    assert f"+ kdemo-app=={app.version}" in run.stderr
    assert f"+ kdemo-lib=={lib.version}" in run.stderr
