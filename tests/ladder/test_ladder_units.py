"""Which sources a run has, without the network: defaults, env, tokens, the proxy scope."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kuaidi.cli.sim import describe
from kuaidi.errors import KuaidiError
from kuaidi.sim import Sim
from kuaidi.sources.runsources import RunSources, SourceConfig, make_scope

TOKEN = "hf_unit_token_0123456789"


def config(env: dict[str, str], **kw: object) -> SourceConfig:
    args: dict[str, object] = dict(
        endpoint=None,
        modelscope_endpoint=None,
        origin=None,
        origin_hosts=(),
        source=None,
        allow_modelscope_only=False,
    )
    args.update(kw)
    return SourceConfig.from_args(environ=env, **args)  # type: ignore[arg-type]


def sources(cfg: SourceConfig, env: dict[str, str], proxy: str | None = None) -> RunSources:
    scope = make_scope(proxy, None, cfg, environ={"KUAIDI_PROXY": "none"} if proxy is None else {})
    return RunSources(
        cfg,
        scope,
        TOKEN,
        timeout=httpx.Timeout(5.0),
        limits=httpx.Limits(),
        retries=0,
        environ=env,
    )


def test_defaults_hf_mirror_modelscope_cn_huggingface_origin() -> None:
    cfg = config({})
    assert cfg.mirrors == ("https://hf-mirror.com",) and not cfg.mirrors_named
    assert cfg.modelscope == "https://www.modelscope.cn"
    assert cfg.origin == "https://huggingface.co" and cfg.origin_hosts == ()
    run = sources(cfg, {})
    try:
        assert run.mirrors[0]._token is None  # hf-mirror.com was not named: no token to it
        assert run.origin._token == TOKEN and not run.origin_usable  # no proxy: not a rung
        assert run.modelscope is not None and run.modelscope._token is None
        assert TOKEN not in repr(run.mirrors) + repr(run.origin) + repr(run.modelscope)
    finally:
        run.close()


def test_named_mirrors_in_order_get_the_token() -> None:
    env = {"HF_ENDPOINT": "http://lan-mirror:8080/"}
    cfg = config(env)
    assert cfg.mirrors == ("http://lan-mirror:8080",) and cfg.mirrors_named
    cfg = config(env, endpoint=["https://a.example", "https://b.example/"])
    assert cfg.mirrors == ("https://a.example", "https://b.example")
    run = sources(cfg, env)
    try:
        assert [m.name for m in run.mirrors] == ["a.example", "b.example"]
        assert all(m._token == TOKEN for m in run.mirrors)
    finally:
        run.close()


def test_modelscope_from_env_or_off() -> None:
    assert config({"MODELSCOPE_DOMAIN": "modelscope.cn"}).modelscope == "https://modelscope.cn"
    env = {"MODELSCOPE_ENDPOINT": "http://127.0.0.1:9/", "MODELSCOPE_API_TOKEN": "ms-tok"}
    assert config(env).modelscope == "http://127.0.0.1:9"
    for off in ("none", "off", "NONE"):
        assert config(env, modelscope_endpoint=off).modelscope is None
    run = sources(config(env), env)
    try:
        assert run.modelscope is not None and run.modelscope._token == "ms-tok"
    finally:
        run.close()


def test_origin_hosts_from_env_and_options() -> None:
    env = {
        "KUAIDI_ORIGIN": "http://127.0.0.1:7001",
        "KUAIDI_ORIGIN_HOSTS": "127.0.0.1:7001, 127.0.0.1:7002",
    }
    cfg = config(env, origin_hosts=["127.0.0.1:7003"])
    assert cfg.origin == "http://127.0.0.1:7001"
    assert cfg.origin_hosts == ("127.0.0.1:7003", "127.0.0.1:7001", "127.0.0.1:7002")
    scope = make_scope("http://10.0.0.1:3128", None, cfg, environ={})
    for port in (7001, 7002, 7003):
        assert scope.proxy_for(f"http://127.0.0.1:{port}/x") == "http://10.0.0.1:3128"
    assert scope.proxy_for("http://127.0.0.1:7004/x") is None


def test_a_mirror_that_is_an_origin_host_is_the_origin_rung() -> None:
    cfg = config({}, endpoint=["https://huggingface.co", "https://hf-mirror.com"])
    run = sources(cfg, {}, proxy="http://10.0.0.1:3128")
    try:
        assert [m.endpoint for m in run.mirrors] == ["https://hf-mirror.com"]
        assert run.origin.endpoint == "https://huggingface.co" and run.origin_usable
        assert [ln.kind for ln in run.lines()] == ["mirror", "modelscope", "origin"]
    finally:
        run.close()


def test_the_origin_named_as_the_endpoint_is_used_even_without_a_proxy() -> None:
    """HF_ENDPOINT=https://huggingface.co (abroad, or a TUN-mode VPN): the user named that host,
    so it is a rung, reached directly; unnamed, the origin needs a proxy."""
    named = sources(config({"HF_ENDPOINT": "https://huggingface.co"}), {})
    unnamed = sources(config({}), {})
    try:
        assert named.mirrors == [] and named.origin_usable
        assert not named.origin.proxied
        assert not unnamed.origin_usable
    finally:
        named.close()
        unnamed.close()


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"endpoint": "hf-mirror.com"}, "bad endpoint"),
        ({"origin": "ftp://x"}, "bad origin"),
        ({"modelscope_endpoint": "modelscope.cn"}, "bad --modelscope-endpoint"),
        ({"source": "github"}, "unknown --source"),
    ],
)
def test_bad_input_is_a_one_line_error(kw: dict[str, str], needle: str) -> None:
    with pytest.raises(KuaidiError, match=needle) as info:
        config({}, **kw)
    assert info.value.fix and info.value.exit_code == 2


def test_source_modelscope_implies_the_opt_in() -> None:
    assert config({}, source="modelscope").allow_modelscope_only
    assert config({}, source="hf-mirror").force == "mirror"


def test_named_turbo_file_beats_the_shell_proxy_but_not_proxy(tmp_path: Path) -> None:
    turbo = tmp_path / "turbo"
    turbo.write_text("export http_proxy=http://10.1.1.1:12798 https_proxy=http://10.1.1.1:12798\n")
    shell = {"https_proxy": "http://10.9.9.9:1"}
    cfg = config({})
    scope = make_scope(None, turbo, cfg, environ=shell)
    assert scope.proxy == "http://10.1.1.1:12798" and scope.source == str(turbo)
    assert make_scope("http://10.2.2.2:3", turbo, cfg, environ=shell).proxy == "http://10.2.2.2:3"
    assert make_scope(None, None, cfg, environ=shell).proxy == "http://10.9.9.9:1"
    with pytest.raises(KuaidiError, match="does not exist"):
        make_scope(None, tmp_path / "absent", cfg, environ={})


def test_sim_env_and_cli_show_the_origin(sim_factory: Callable[..., Sim]) -> None:
    sim = sim_factory("wall", hosts=["hf-mirror", "hf-cdn", "origin", "origin-cdn"])
    env = sim.env()
    assert env["KUAIDI_ORIGIN"] == sim.url("origin")
    hosts = env["KUAIDI_ORIGIN_HOSTS"].split(",")
    assert hosts == [sim.url(h).split("://")[1] for h in ("origin", "origin-cdn")]
    text = "\n".join(describe(sim))
    assert f"export KUAIDI_ORIGIN={sim.url('origin')}" in text
    assert "export KUAIDI_ORIGIN_HOSTS=" in text and "--proxy URL" in text
    assert "KUAIDI_ORIGIN" not in sim_factory("clean", hosts=["hf-mirror"]).env()


def test_a_named_turbo_file_beats_the_env_proxy_and_brings_its_ca(tmp_path: Path) -> None:
    """Regression: with KUAIDI_PROXY or the shell's proxy set, a named --network-turbo swapped
    in its proxy but not the CA bundle it exports."""
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here\n")
    turbo = tmp_path / "network_turbo"
    turbo.write_text(f"export https_proxy=http://10.0.0.9:12798\nexport REQUESTS_CA_BUNDLE={ca}\n")
    env = {"KUAIDI_PROXY": "http://10.0.0.1:3128", "https_proxy": "http://10.0.0.2:3128"}
    scope = make_scope(None, turbo, config({}), environ=env)
    assert scope.proxy == "http://10.0.0.9:12798" and scope.source == str(turbo)
    assert scope.ca_files == (str(ca),)
    explicit = make_scope("http://10.0.0.3:3128", turbo, config({}), environ=env)
    assert explicit.proxy == "http://10.0.0.3:3128"  # --proxy still wins
