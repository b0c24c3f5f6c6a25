"""Acceptance: after `kuaidi setup` on a fake AutoDL box, real git and real pip reach the walled
github.com through the platform proxy (tinyproxy), while the PyPI mirror is reached directly;
without kuaidi's git config the same clone is refused by the wall."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.code.conftest import KUAIDI, REPO_URL, World


def _setup(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUAIDI), "setup", "--root", str(world.root), "--pypi", world.pypi, *args],
        env=world.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _git(world: World, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], env=world.env(), capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_clone_and_pip_git_install_go_through_the_github_scope_only(world: World, tmp_path):
    run = _setup(world)
    assert run.returncode == 0, run.stderr
    gitconfig = (world.home / ".gitconfig").read_text()
    assert f'[http "https://github.com/"]\n\tproxy = {world.proxy.url}\n' in gitconfig
    listed = _git(world, "config", "--global", "--list").stdout
    assert "http.proxy=" not in listed and "https.proxy=" not in listed  # never global

    clone = _git(world, "clone", REPO_URL, str(tmp_path / "hello"))
    assert clone.returncode == 0, clone.stderr
    assert (tmp_path / "hello/hello_pkg/__init__.py").is_file()
    assert _git(world, "-C", str(tmp_path / "hello"), "tag").stdout.split() == ["v0.1.0"]

    # pip: the git+https requirement through git (and so the scope), its dependency from the
    # mirror kuaidi configured in pip.conf — direct.
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--target", str(target), f"git+{REPO_URL}@v0.1.0"],
        env=world.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    assert (target / "hello_pkg/__init__.py").is_file() and (target / "kdemo_lib").is_dir()
    download = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-d", str(tmp_path / "dl"), "kdemo-lib"],
        env=world.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert download.returncode == 0, download.stderr[-2000:]
    assert list((tmp_path / "dl").glob("kdemo_lib-*.whl"))

    # tinyproxy saw GitHub only; the mirror saw pip itself, from loopback (not the egress).
    hosts = world.proxy_hosts()
    assert hosts and set(hosts) == {"github.com:443"}, hosts
    pypi_clients = {e.client[0] for e in world.sim.log("pypi-tuna").entries}
    assert pypi_clients == {"127.0.0.1"}
    served = [e.path for e in world.sim.log("github").entries]
    assert "/kuaidi-sim/hello-pkg/info/refs" in served
    assert any(p.endswith("/git-upload-pack") for p in served)


@pytest.mark.skipif(sys.platform != "linux", reason="loopback aliases")
def test_without_kuaidis_git_config_the_same_clone_is_refused_by_the_wall(world: World, tmp_path):
    if world.road is None:
        pytest.skip("the direct road to the sim's github.com needs port 443 (root)")
    clone = _git(world, "clone", REPO_URL, str(tmp_path / "hello"))
    assert clone.returncode != 0
    # the wall's RST lands during connect or the TLS hello: curl words it either way
    said = clone.stderr.lower()
    assert "reset by peer" in said or "couldn't connect" in said, clone.stderr
    assert not (tmp_path / "hello/hello_pkg").exists()
    assert [e.outcome for e in world.road.log.entries] and all(
        e.outcome == "refused" for e in world.road.log.entries
    )
    assert world.proxy_hosts() == []  # nothing went through the proxy
    # and after kuaidi setup the very same command works
    assert _setup(world, "--only", "git").returncode == 0
    again = _git(world, "clone", REPO_URL, str(tmp_path / "hello"))
    assert again.returncode == 0, again.stderr
