"""OriginSource: the HF protocol to the walled origin, through a real tinyproxy only."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.model import RepoRef
from kuaidi.net import ProxyScope
from kuaidi.sim import EGRESS, Sim
from kuaidi.sim.proxy import TinyProxy
from kuaidi.sources.hf import HFSource
from kuaidi.sources.origin import HF_ORIGIN, OriginSource
from tests.conftest import require_binary
from tests.net.simwait import wait_logged

TINY = RepoRef("kuaidi-sim/tiny-model")


@pytest.fixture
def walled(sim_factory: Callable[..., Sim]) -> Sim:
    return sim_factory("wall", hosts=["hf-mirror", "hf-cdn", "origin", "origin-cdn"])


@pytest.fixture
def tinyproxy() -> Iterator[TinyProxy]:
    require_binary("tinyproxy")
    with TinyProxy() as proxy:
        yield proxy


def test_lists_and_fetches_through_the_proxy(walled: Sim, tinyproxy: TinyProxy) -> None:
    origin = OriginSource(
        walled.url("origin"),
        scope=ProxyScope.from_env({}, proxy=tinyproxy.url, turbo_path=None),
        extra_origins=[walled.url("origin-cdn")],
    )
    assert isinstance(origin, HFSource) and origin.proxied
    assert "through" in origin.explain()
    listing = origin.list(TINY)
    assert listing.source == "origin"
    repo = walled.catalog.get("model", TINY.repo_id)
    assert listing.commit == repo.head.sha
    lfs = next(f for f in listing.files if f.lfs)
    route = origin.route(TINY, listing.commit, lfs.path)
    resp = origin.client.get(route.url, follow_redirects=True)
    assert hashlib.sha256(resp.content).hexdigest() == lfs.sha256
    wait_logged(walled, [resp])
    for host in ("origin", "origin-cdn"):
        assert {e.client[0] for e in walled.log(host)} == {EGRESS}, host


def test_without_a_proxy_the_wall_holds(walled: Sim) -> None:
    origin = OriginSource(walled.url("origin"), scope=ProxyScope.direct(), retries=0)
    assert not origin.proxied and "direct" in origin.explain()
    with pytest.raises(KuaidiError, match="cannot reach"):
        origin.list(TINY)


def test_the_hub_needs_no_marking() -> None:
    scope = ProxyScope(proxy="http://10.0.0.1:12798", source="test")
    origin = OriginSource(scope=scope)
    assert origin.endpoint == HF_ORIGIN and origin.proxied
    assert origin.scope.origin_hostports == frozenset()  # huggingface.co is an origin suffix
    assert origin.scope.proxy_for("https://hf-mirror.com/") is None
    assert "10.0.0.1" in repr(origin)
