"""ScopedToken: the token reaches its own origin only, and never shows in repr/str/logs."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from kuaidi.model import origin_of
from kuaidi.net import ProxyScope, ScopedToken, make_client
from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN
from tests.net.simwait import wait_logged

REPO = "kuaidi-sim/tiny-model"


def test_origin_is_scheme_host_port() -> None:
    auth = ScopedToken("tok", "https://hf-mirror.com")
    assert auth.headers_for("https://hf-mirror.com/api/x") == {"authorization": "Bearer tok"}
    assert auth.headers_for("https://HF-MIRROR.com:443/x")
    for other in (
        "http://hf-mirror.com/x",  # scheme differs
        "https://hf-mirror.com:8443/x",  # port differs
        "https://cdn.hf-mirror.com/x",  # a subdomain is another host
        "https://hf-mirror.com.evil.example/x",
    ):
        assert auth.headers_for(other) == {}, other
    assert origin_of("http://127.0.0.1:8080/a") == ("http", "127.0.0.1", 8080)


def test_token_never_in_repr_or_str() -> None:
    auth = ScopedToken("hf_SECRETsecret", "https://hf-mirror.com")
    assert "SECRET" not in repr(auth) and "SECRET" not in str(auth)
    with make_client(ProxyScope.direct(), token="hf_SECRETsecret", token_host="hf-mirror.com") as c:
        assert "SECRET" not in repr(c.auth)
    with pytest.raises(ValueError):
        ScopedToken("two\nlines", "https://x")


def test_token_needs_a_host() -> None:
    with pytest.raises(ValueError, match="token_host"):
        make_client(ProxyScope.direct(), token="tok")


def test_redirect_to_cdn_drops_the_token(
    sim_factory: Callable[..., Sim], caplog: pytest.LogCaptureFixture
) -> None:
    sim = sim_factory("clean", hosts=["hf-mirror", "hf-cdn"])
    caplog.set_level(logging.DEBUG)
    with make_client(
        ProxyScope.direct(), token=SIM_TOKEN, token_host=sim.url("hf-mirror"), follow_redirects=True
    ) as client:
        resp = client.get(f"{sim.url('hf-mirror')}/{REPO}/resolve/main/model.safetensors")
        assert resp.status_code == 200 and len(resp.history) == 1
        # a header set by hand for a foreign origin is stripped too (the request hook)
        cdn = sim.url("hf-cdn") + "/nothing"
        other = client.get(cdn, headers={"authorization": f"Bearer {SIM_TOKEN}"})
    wait_logged(sim, [resp, other])
    assert sim.log("hf-mirror").saw_token(SIM_TOKEN)
    assert not sim.log("hf-cdn").saw_token(SIM_TOKEN)
    assert SIM_TOKEN not in caplog.text


def test_same_origin_redirect_keeps_the_token(sim_factory: Callable[..., Sim]) -> None:
    """A renamed repo answers 307 on the same origin: the retried request still authenticates."""
    sim = sim_factory("clean", hosts=["hf-mirror", "hf-cdn"])
    with make_client(
        ProxyScope.direct(), token=SIM_TOKEN, token_host=sim.url("hf-mirror"), follow_redirects=True
    ) as client:
        resp = client.get(f"{sim.url('hf-mirror')}/api/models/kuaidi-sim/old-tiny-model")
    wait_logged(sim, [resp])
    assert resp.status_code == 200
    assert resp.json()["id"] == REPO
    assert all(e.header("authorization") for e in sim.log("hf-mirror"))


def test_no_token_no_header(sim_factory: Callable[..., Sim]) -> None:
    sim = sim_factory("clean", hosts=["hf-mirror", "hf-cdn"])
    with make_client(ProxyScope.direct()) as client:
        resp = client.get(f"{sim.url('hf-mirror')}/api/models/{REPO}")
        assert resp.status_code == 200
    wait_logged(sim, [resp])
    assert not any(e.header("authorization") for e in sim.log("hf-mirror"))
    assert isinstance(client, httpx.Client) and client.trust_env is False
