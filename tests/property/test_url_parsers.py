"""Property: every parser a URL, proxy variable, no_proxy value or turbo file reaches on the
``kuaidi get`` path fails only with a KuaidiError — never a ValueError traceback (issue 10 #16).

The generated values mix the shapes that broke it (``http://[::1``, ``http://[proxy]:8080``,
ports out of range, unicode digits, IDNA junk, credentials) with arbitrary text. What a parser
accepts must then be usable downstream: httpx can build the request URL and the proxy.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kuaidi.errors import KuaidiError
from kuaidi.net.noproxy import FAMILIES, NoProxy, decide
from kuaidi.net.scope import ProxyScope
from kuaidi.net.turbo import parse_network_turbo
from kuaidi.sources.runsources import SourceConfig, make_scope

SCHEMES = ["http", "https", "HTTP", "socks5", "socks5h", "ftp", "file", "", "h ttp"]
HOSTS = [
    "hf-mirror.com",
    "127.0.0.1",
    "[::1]",
    "[::1",
    "::1]",
    "[proxy]",
    "[x",
    "[]",
    "",
    "☃.com",
    "xn--.com",
    "ex%41mple.com",
    "a..b",
    "-a.com",
    "a" * 70 + ".com",
    "10.0.0.0/8",
    "*.example.com",
    ".aliyun.com",
    "[fe80::1%eth0]",
    "0x7f.1",
    "host name",
    "h\x00st",
]
PORTS = ["", ":", ":80", ":8080", ":0", ":65535", ":65536", ":99999", ":-1", ":abc", ":²", ":８０"]
USERINFO = ["", "user@", "user:s3cret@", ":@", "a:b:c@", "@"]
TAILS = ["", "/", "/path", "?q=1", "#frag", "/a b", "\n", "]"]

url_parts = st.builds(
    lambda sch, sep, ui, host, port, tail: f"{sch}{sep}{ui}{host}{port}{tail}",
    st.sampled_from(SCHEMES),
    st.sampled_from(["://", "", ":/", ":///"]),
    st.sampled_from(USERINFO),
    st.sampled_from(HOSTS),
    st.sampled_from(PORTS),
    st.sampled_from(TAILS),
)
urlish = st.one_of(url_parts, st.text(max_size=40), st.sampled_from(["none", "off", " ", ""]))
no_proxy_value = st.lists(
    st.one_of(url_parts, st.sampled_from(HOSTS), st.text(max_size=12)), max_size=4
).map(",".join)
PROXY_VARS = [
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "KUAIDI_PROXY",
]
env_strategy = st.dictionaries(
    st.sampled_from([*PROXY_VARS, "no_proxy", "NO_PROXY"]),
    st.one_of(urlish, no_proxy_value),
    max_size=5,
)
TURBO_NAMES = [
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTPS_PROXY",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
]
turbo_line = st.one_of(
    st.builds(lambda n, v: f"export {n}={v}", st.sampled_from(TURBO_NAMES), urlish),
    st.builds(lambda n, v: f"{n}='{v}'", st.sampled_from(TURBO_NAMES), urlish),
    st.builds(lambda a, b: f"export http_proxy={a} && export https_proxy={b}", urlish, urlish),
    st.sampled_from(["echo 设置成功", "export", "export =x", "unset http_proxy", "'", '"', "\\"]),
    st.text(max_size=30),
)
turbo_text = st.lists(turbo_line, max_size=4).map("\n".join)
PROBES = [
    "https://huggingface.co/api/models/x",
    "https://hf-mirror.com/x",
    "http://127.0.0.1:9/x",
    "https://cdn-lfs.hf.co/x",
    "http://[::1]:8080/x",
]
SETTINGS = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def usable_scope(scope: ProxyScope) -> None:
    """What a parser accepted works downstream: decisions, explanations, the proxy transport."""
    for url in PROBES:
        scope.proxy_for(url)
        scope.explain(url)
    if scope.proxy is not None:
        httpx.Proxy(scope.proxy)  # what make_client's transport builds
    repr(scope)


@SETTINGS
@given(env=env_strategy, proxy=st.one_of(st.none(), urlish), turbo=turbo_text)
def test_proxy_scope_from_env(
    tmp_path: Path, env: dict[str, str], proxy: str | None, turbo: str
) -> None:
    path = tmp_path / "network_turbo"
    path.write_text(turbo)
    try:
        scope = ProxyScope.from_env(env, proxy=proxy, turbo_path=path)
    except KuaidiError:
        return
    usable_scope(scope)


@SETTINGS
@given(value=no_proxy_value, host=st.sampled_from([*HOSTS, "huggingface.co", "10.1.2.3", "::1"]))
def test_no_proxy_matcher(value: str, host: str) -> None:
    try:
        rule = NoProxy.parse(value)
    except KuaidiError:
        return
    rule.matches(host)
    str(rule)


@SETTINGS
@given(env=env_strategy, url=st.sampled_from(PROBES))
def test_every_client_family_decision(env: dict[str, str], url: str) -> None:
    """The doctor's per-tool view reads the same variables: it must not crash either."""
    for family in FAMILIES:
        with contextlib.suppress(KuaidiError):
            decide(url, env, family)  # type: ignore[arg-type]


@SETTINGS
@given(text=turbo_text)
def test_turbo_parser(tmp_path: Path, text: str) -> None:
    path = tmp_path / "network_turbo"
    path.write_text(text)
    try:
        cfg = parse_network_turbo(path)
    except KuaidiError:
        return
    assert cfg is not None
    httpx.Proxy(cfg.proxy)


@SETTINGS
@given(
    endpoint=st.one_of(st.none(), st.lists(urlish, min_size=1, max_size=2)),
    ms=st.one_of(st.none(), urlish),
    origin=st.one_of(st.none(), urlish),
    origin_hosts=st.lists(st.one_of(st.sampled_from(HOSTS), url_parts), max_size=2),
    env=st.dictionaries(
        st.sampled_from(
            [
                "HF_ENDPOINT",
                "MODELSCOPE_ENDPOINT",
                "MODELSCOPE_DOMAIN",
                "KUAIDI_ORIGIN",
                "KUAIDI_ORIGIN_HOSTS",
                *PROXY_VARS,
                "no_proxy",
            ]
        ),
        urlish,
        max_size=4,
    ),
    proxy=st.one_of(st.none(), urlish),
)
def test_source_config_and_make_scope(
    endpoint: list[str] | None,
    ms: str | None,
    origin: str | None,
    origin_hosts: list[str],
    env: dict[str, str],
    proxy: str | None,
) -> None:
    try:
        config = SourceConfig.from_args(
            endpoint=endpoint,
            modelscope_endpoint=ms,
            origin=origin,
            origin_hosts=origin_hosts,
            source=None,
            allow_modelscope_only=False,
            environ=env,
        )
        scope = make_scope(proxy, None, config, environ=env)
    except KuaidiError:
        return
    usable_scope(scope)
    for url in [
        *config.mirrors,
        config.origin,
        *([config.modelscope] if config.modelscope else []),
    ]:
        httpx.URL(f"{url}/api/models/org/name")  # what every source requests
        scope.explain(url)
        scope.is_origin(url)
