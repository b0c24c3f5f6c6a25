"""ProxyScope decisions: origin through the proxy, everything else direct, no_proxy honoured."""

from __future__ import annotations

from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.net.scope import ProxyScope
from kuaidi.net.urls import redact

P = "http://10.0.0.1:12798"
HUB_URLS = [
    "https://huggingface.co/api/models/gpt2",
    "https://hf.co/gpt2",
    "https://cdn-lfs-us-1.huggingface.co/repos/x",
    "https://cas-bridge.xethub.hf.co/xet-bridge-us/abc",
    "https://us.aws.cdn.hf.co/x",
]
DOMESTIC_URLS = [
    "https://hf-mirror.com/api/models/gpt2",
    "https://www.modelscope.cn/api/v1/models/Qwen/x",
    "https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple/",
    "https://mirrors.aliyun.com/pypi/simple/",
    "https://nothuggingface.co/",
    "http://127.0.0.1:8000/",
]


@pytest.mark.parametrize("url", HUB_URLS)
def test_origin_hosts_go_through_the_proxy(url: str) -> None:
    scope = ProxyScope(proxy=P, source="--proxy")
    assert scope.proxy_for(url) == P
    assert "through" in scope.explain(url) and "--proxy" in scope.explain(url)


@pytest.mark.parametrize("url", DOMESTIC_URLS)
def test_every_other_host_is_direct_whatever_the_shell_says(url: str) -> None:
    env = {"https_proxy": P, "http_proxy": P, "HTTPS_PROXY": P, "all_proxy": P}
    scope = ProxyScope.from_env(env, turbo_path=None)
    assert scope.proxy == P and scope.source == "https_proxy"
    assert scope.proxy_for(url) is None
    assert "direct" in scope.explain(url)


def test_user_no_proxy_exempts_an_origin_host() -> None:
    env = {"https_proxy": P, "NO_PROXY": "cdn-lfs-us-1.huggingface.co"}
    scope = ProxyScope.from_env(env, turbo_path=None)
    assert scope.proxy_for("https://cdn-lfs-us-1.huggingface.co/x") is None
    assert "no_proxy" in scope.explain("https://cdn-lfs-us-1.huggingface.co/x")
    assert scope.proxy_for("https://huggingface.co/x") == P


def test_marked_origin_beats_a_loopback_no_proxy() -> None:
    # the sim's walled origin lives on 127.0.0.1; AutoDL's no_proxy lists 127.0.0.1
    env = {"http_proxy": P, "no_proxy": "localhost,127.0.0.1"}
    scope = ProxyScope.from_env(env, turbo_path=None, origins=["http://127.0.0.1:4321"])
    assert scope.proxy_for("http://127.0.0.1:4321/api/models/x") == P
    assert scope.proxy_for("http://127.0.0.1:4322/api/models/x") is None
    assert scope.is_origin("127.0.0.1:4321")


def test_precedence_explicit_then_kuaidi_proxy_then_shell_then_turbo(tmp_path: Path) -> None:
    turbo = tmp_path / "network_turbo"
    turbo.write_text("export http_proxy=http://172.31.1.128:12798\n")
    env = {"KUAIDI_PROXY": "http://10.9.9.9:1", "https_proxy": "http://10.8.8.8:2"}
    assert ProxyScope.from_env(env, proxy="10.7.7.7:3", turbo_path=turbo).proxy == (
        "http://10.7.7.7:3"
    )
    assert ProxyScope.from_env(env, turbo_path=turbo).source == "KUAIDI_PROXY"
    del env["KUAIDI_PROXY"]
    assert ProxyScope.from_env(env, turbo_path=turbo).proxy == "http://10.8.8.8:2"
    scope = ProxyScope.from_env({}, turbo_path=turbo)
    assert scope.proxy == "http://172.31.1.128:12798" and scope.source == str(turbo)
    assert ProxyScope.from_env({}, turbo_path=tmp_path / "absent").proxy is None


@pytest.mark.parametrize("off", ["none", "", "off", "DIRECT"])
def test_explicit_no_proxy(off: str) -> None:
    scope = ProxyScope.from_env({"https_proxy": P, "KUAIDI_PROXY": off}, turbo_path=None)
    assert scope.proxy is None
    assert scope.proxy_for("https://huggingface.co/") is None
    assert "no proxy" in scope.explain("https://huggingface.co/")


def test_bad_explicit_proxy_is_a_kuaidi_error() -> None:
    with pytest.raises(KuaidiError, match="--proxy"):
        ProxyScope.from_env({}, proxy="http://host-without-port", turbo_path=None)
    with pytest.raises(KuaidiError, match="KUAIDI_PROXY"):
        ProxyScope.from_env({"KUAIDI_PROXY": "ftp://x:1"}, turbo_path=None)


def test_malformed_turbo_is_a_note_not_a_crash(tmp_path: Path) -> None:
    turbo = tmp_path / "network_turbo"
    turbo.write_text("echo no proxy here\n")
    scope = ProxyScope.from_env({}, turbo_path=turbo)
    assert scope.proxy is None
    assert any(str(turbo) in n for n in scope.notes)


def test_proxy_credentials_never_shown() -> None:
    scope = ProxyScope(proxy="http://user:s3cret@10.0.0.1:8080", source="--proxy")
    assert "s3cret" not in repr(scope)
    assert "s3cret" not in scope.explain("https://huggingface.co/")
    assert redact("http://user:s3cret@h:1") == "http://user:***@h:1"
    assert scope.proxy_for("https://huggingface.co/") == "http://user:s3cret@10.0.0.1:8080"


def test_direct_scope() -> None:
    assert ProxyScope.direct().proxy_for("https://huggingface.co/") is None


def test_socks_proxy_without_socksio_is_a_clear_error() -> None:
    import importlib.util

    from kuaidi.net import make_client

    if importlib.util.find_spec("socksio") is not None:
        pytest.skip("socksio is installed: httpx supports socks5 here")
    scope = ProxyScope.from_env({}, proxy="socks5://127.0.0.1:1", turbo_path=None)
    with make_client(scope) as client, pytest.raises(KuaidiError, match="socks"):
        client.get("https://huggingface.co/api/models/gpt2")


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("10.0.0.1:12798", "http://10.0.0.1:12798"),
        (" http://h:3128 ", "http://h:3128"),
        ("socks5h://h:1080", "socks5h://h:1080"),
        ("ftp://h:21", None),
        ("http://h", None),
        ("http://h:notaport", None),
        ("", None),
    ],
)
def test_one_rule_for_what_is_a_proxy_url(value: str, url: str | None) -> None:
    """--proxy/KUAIDI_PROXY and network_turbo use the same rule (it was written twice)."""
    from kuaidi.net.proxyurl import proxy_url

    assert proxy_url(value) == url
