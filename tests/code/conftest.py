"""The code journeys' world: the walled sim github.com, the sim PyPI, a real tinyproxy whose
egress the wall lets through, and a fake AutoDL root whose network_turbo names that proxy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kuaidi.sim import Host, Sim
from kuaidi.sim.github import direct_git_env, direct_road, github_hosts, tinyproxy_upstreams
from kuaidi.sim.proxy import TinyProxy, find_tinyproxy
from tests.platforms.fake_trees import make_tree
from tests.simfixtures import sim_cache  # noqa: F401  (fixture)

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
KUAIDI = VENV_BIN / "kuaidi"
REPO_URL = "https://github.com/kuaidi-sim/hello-pkg"


@dataclass
class World:
    sim: Sim
    proxy: TinyProxy
    road: Host | None  # github.com for direct connections (None when not root)
    root: Path  # fake AutoDL root, network_turbo -> proxy
    home: Path

    @property
    def pypi(self) -> str:
        return self.sim.url("pypi-tuna") + "/simple/"

    def env(self, **extra: str) -> dict[str, str]:
        """What a user's shell has: HOME, PATH, no proxy variables at all; plus the sim's CA
        and, for direct connections, its stand-in for DNS (test-only git settings)."""
        env = {
            "HOME": str(self.home),
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_CACHE_DIR": "1",
            **direct_git_env(self.sim, self.road),
        }
        env.update(extra)
        return env

    def proxy_hosts(self) -> list[str]:
        """Every host:port tinyproxy was asked to reach (CONNECT or plain requests)."""
        found = []
        for line in self.proxy.log_lines():
            if "Request (file descriptor" in line:
                found.append(line.rsplit(": ", 1)[1].split()[1])
        return found


def turbo_for(proxy_url: str) -> str:
    return (
        "export no_proxy=localhost,127.0.0.1\n"
        f"export http_proxy={proxy_url} && export https_proxy={proxy_url}\n"
        "echo 设置成功\n"
    )


@pytest.fixture
def world(tmp_path: Path, sim_cache: Path) -> Iterator[World]:  # noqa: F811
    if find_tinyproxy() is None:
        pytest.skip("tinyproxy is not installed")
    sim = Sim(
        "wall",
        overrides=github_hosts(),
        hosts=["github", "pypi-tuna"],
        cache_dir=sim_cache,
    ).start()
    road = direct_road(sim) if os.geteuid() == 0 else None
    proxy = TinyProxy(extra_config=tinyproxy_upstreams(sim), workdir=tmp_path / "tinyproxy")
    (tmp_path / "tinyproxy").mkdir()
    proxy.start()
    root = tmp_path / "root"
    make_tree(root, "autodl")
    (root / "etc/network_turbo").write_text(turbo_for(proxy.url))
    home = tmp_path / "home"
    home.mkdir()
    try:
        yield World(sim, proxy, road, root, home)
    finally:
        proxy.close()
        if road is not None:
            road.stop()
        sim.stop()
