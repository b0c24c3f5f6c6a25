"""A token for a plain-http origin that goes through a proxy is said once (issue 10 #19)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

from kuaidi.errors import KuaidiWarning
from kuaidi.net.client import make_client
from kuaidi.net.scope import ProxyScope
from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN as TOKEN  # a token the sim accepts
from tests.get.conftest import run_cli

PROXY = "http://user:pw@10.0.0.1:3128"


def test_http_origin_through_a_proxy_warns() -> None:
    scope = ProxyScope(proxy=PROXY, source="--proxy").with_origin("http://127.0.0.1:5")
    with pytest.warns(KuaidiWarning, match="clear text") as got:
        make_client(scope, token="hf_x", token_host="http://127.0.0.1:5").close()
    text = str(got[0].message)
    assert "hf_x" not in text and ":pw@" not in text and "user:***@" in text


@pytest.mark.parametrize(
    ("scope", "host"),
    [
        (ProxyScope(proxy=PROXY, source="--proxy"), "https://huggingface.co"),  # https: private
        (ProxyScope.direct().with_origin("http://127.0.0.1:5"), "http://127.0.0.1:5"),  # no proxy
        (ProxyScope(proxy=PROXY, source="--proxy"), "http://127.0.0.1:5"),  # a mirror: direct
    ],
)
def test_no_warning_when_the_token_stays_private(scope: ProxyScope, host: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", KuaidiWarning)
        make_client(scope, token="hf_x", token_host=host).close()


def test_cli_says_it_once_and_never_shows_the_token(sim_factory: Callable[..., Sim]) -> None:
    sim = sim_factory("clean", hosts=["hf-mirror"])
    out = run_cli(
        "get", "kuaidi-sim/tiny-model", "--dry-run", "--endpoint", sim.url("hf-mirror"),
        "--modelscope-endpoint", "none", "--origin", "http://127.0.0.1:9",
        "--proxy", "http://127.0.0.1:8", "--token", TOKEN,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kuaidi: warning: "), out.stderr
    assert "http://127.0.0.1:9" in lines[0] and "clear text" in lines[0]
    assert TOKEN not in out.stderr + out.stdout
