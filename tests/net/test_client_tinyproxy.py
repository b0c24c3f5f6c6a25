"""make_client against a real tinyproxy and the sim's walled origin.

The shell exports http(s)_proxy to tinyproxy for everything — the AutoDL ``source
/etc/network_turbo`` situation. A kuaidi client must still reach the domestic mirror and its
CDN direct (their logs show 127.0.0.1, tinyproxy's log never names them), reach the walled
origin only through the proxy (its log shows the egress 127.0.0.9), and send the token to the
named endpoint alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest

from kuaidi.net import ProxyScope, make_client
from kuaidi.sim import EGRESS, Sim
from kuaidi.sim.content import SIM_TOKEN
from kuaidi.sim.proxy import TinyProxy
from tests.conftest import require_binary
from tests.net.simwait import wait_logged

REPO = "kuaidi-sim/tiny-model"
FILES = ("model.safetensors", "config.json")  # an LFS file (302 to the CDN) and a small one
TOKEN = SIM_TOKEN  # a token the sim accepts (an unknown one is a 401)
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@pytest.fixture
def walled(sim_factory: Callable[..., Sim]) -> Sim:
    return sim_factory("wall", hosts=["hf-mirror", "hf-cdn", "origin", "origin-cdn"])


@pytest.fixture
def tinyproxy() -> Iterator[TinyProxy]:
    require_binary("tinyproxy")
    with TinyProxy() as proxy:
        yield proxy


@pytest.fixture
def exported(tinyproxy: TinyProxy, monkeypatch: pytest.MonkeyPatch) -> TinyProxy:
    """The whole process environment points at tinyproxy, as after ``source network_turbo``."""
    for name in PROXY_VARS:
        monkeypatch.setenv(name, tinyproxy.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("KUAIDI_PROXY", raising=False)
    return tinyproxy


def _port(url: str) -> str:
    return str(urlsplit(url).port)


def _expected(sim: Sim, path: str) -> str:
    repo = sim.catalog.get("model", REPO)
    return hashlib.sha256(repo.head.files[path].blob_path.read_bytes()).hexdigest()


def _proxied_ports(proxy: TinyProxy, sim: Sim) -> set[str]:
    text = "\n".join(proxy.log_lines())
    return {name for name in sim.hosts if f":{_port(sim.url(name))}" in text}


def test_mirror_direct_origin_through_proxy_token_scoped(walled: Sim, exported: TinyProxy) -> None:
    scope = ProxyScope.from_env(
        turbo_path=None, origins=[walled.url("origin"), walled.url("origin-cdn")]
    )
    assert scope.proxy == exported.url
    with make_client(
        scope, token=TOKEN, token_host=walled.url("hf-mirror"), follow_redirects=True
    ) as client:
        seen = []
        for host in ("hf-mirror", "origin"):
            for path in FILES:
                resp = client.get(f"{walled.url(host)}/{REPO}/resolve/main/{path}")
                assert resp.status_code == 200, (host, path, resp.status_code)
                assert hashlib.sha256(resp.content).hexdigest() == _expected(walled, path)
                seen.append(resp)
    wait_logged(walled, seen)

    # who connected to whom
    for name in ("hf-mirror", "hf-cdn"):
        peers = {e.client[0] for e in walled.log(name)}
        assert peers == {"127.0.0.1"}, (name, peers)
    for name in ("origin", "origin-cdn"):
        entries = walled.log(name).entries
        assert entries and all(e.status == 200 or 300 <= e.status < 400 for e in entries)
        assert {e.client[0] for e in entries} == {EGRESS}, name
    assert _proxied_ports(exported, walled) == {"origin", "origin-cdn"}

    # the token went to the named endpoint and nowhere else (not its CDN, not the origin)
    assert walled.log("hf-mirror").saw_token(TOKEN)
    for name in ("hf-cdn", "origin", "origin-cdn"):
        assert not walled.log(name).saw_token(TOKEN), name


def test_control_plain_httpx_would_proxy_the_mirror(walled: Sim, exported: TinyProxy) -> None:
    """The environment really is poisoned: httpx with trust_env sends the mirror via tinyproxy."""
    with httpx.Client() as naive:
        resp = naive.get(walled.url("hf-mirror") + f"/api/models/{REPO}")
        assert resp.status_code == 200
    wait_logged(walled, [resp])
    assert {e.client[0] for e in walled.log("hf-mirror")} == {EGRESS}
    assert "hf-mirror" in _proxied_ports(exported, walled)


def test_origin_unreachable_without_the_proxy(walled: Sim, exported: TinyProxy) -> None:
    with make_client(ProxyScope.direct()) as client, pytest.raises(httpx.TransportError):
        client.get(walled.url("origin") + f"/api/models/{REPO}")
    assert not _proxied_ports(exported, walled)


def test_user_no_proxy_sends_a_plain_origin_host_direct(
    walled: Sim, exported: TinyProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "localhost" is a Hub-like origin suffix here; the user exempts it: it goes direct
    monkeypatch.setenv("NO_PROXY", "localhost")
    scope = replace(ProxyScope.from_env(turbo_path=None), origin_suffixes=("localhost",))
    assert scope.proxy == exported.url
    url = walled.url("hf-mirror").replace("127.0.0.1", "localhost") + f"/api/models/{REPO}"
    assert scope.is_origin(url) and scope.proxy_for(url) is None
    with make_client(scope) as client:
        assert client.get(url).status_code == 200
    assert not _proxied_ports(exported, walled)
