"""The probe against the sim: several mirrors of different speed, failure rate, redirect
behaviour and staleness are ranked correctly, classified distinctly (down / not-index / stale
are not "slow"), and the whole run stays inside its time bound. Speed gaps are large (a 64 KiB/s
host vs unthrottled loopback), so the order holds on a busy machine; nothing asserts a timing
except the overall bound."""

from __future__ import annotations

from kuaidi.probe import parse_candidate, probe
from kuaidi.sim.faults import stall, status

SLOW = 64 * 1024
PYPI_OPTS = {"package": "kdemo-lib", "artifact_package": "kdemo-blob", "range_bytes": 256 * 1024}


def _pypi(sim, name: str, host: str, path: str = "/simple"):
    return parse_candidate(f"{name}={sim.url(host)}{path}", "pypi")


def test_pypi_ranking_and_classification(sim_factory) -> None:
    sim = sim_factory(
        "clean",
        hosts=["pypi-tuna", "pypi-aliyun", "pypi-slow", "pypi-ustc", "pypi-stale", "pypi-portal"],
        overrides={"pypi-slow": {"conn_rate": SLOW}},
        # aliyun is fast but its first two wheel downloads fail: 2 of 4 rounds
        faults={"pypi-aliyun": [status(503, path="*.whl", times=2)]},
    )
    cands = [
        _pypi(sim, "tuna", "pypi-tuna"),
        _pypi(sim, "flaky", "pypi-aliyun"),
        _pypi(sim, "slow", "pypi-slow"),
        _pypi(sim, "ustc", "pypi-ustc"),
        _pypi(sim, "stale", "pypi-stale", "/pypi/web/simple"),
        _pypi(sim, "portal", "pypi-portal"),
        parse_candidate("down=http://127.0.0.1:9/simple", "pypi"),
    ]
    result = probe("pypi", cands, rounds=4, timeout=20, sample_seconds=1.5, **PYPI_OPTS)
    by = {m.candidate.name: m for m in result.ranked}
    order = [m.candidate.name for m in result.ranked]

    # fast and reliable first (tuna and ustc, which is tuna behind a redirect), then slow,
    # then the fast-but-flaky one, then stale, then what is not a mirror at all
    assert set(order[:2]) == {"tuna", "ustc"}
    assert order[2:] == ["slow", "flaky", "stale", "portal", "down"]
    assert [by[n].verdict for n in order] == ["ok"] * 4 + ["stale", "not-index", "down"]
    assert result.winner is not None and result.winner.candidate.name in ("tuna", "ustc")

    assert by["flaky"].failure_rate == 0.5 and "HTTP 503" in by["flaky"].notes[0]
    assert by["slow"].throughput < by["tuna"].throughput / 4
    # USTC-style redirect: the bytes came from TUNA, and TUNA is credited
    tuna_netloc = sim.url("pypi-tuna").split("://")[1]
    assert by["ustc"].served_by == tuna_netloc
    assert by["slow"].served_by == sim.url("pypi-slow").split("://")[1]
    # stale by its tunasync feed (failed, 3 days) and by what it serves (1.1.0 < 1.2.0)
    assert "3.0 days ago" in by["stale"].reason
    assert by["stale"].version == "1.1.0" and by["tuna"].version == "1.2.0"
    assert "not a package index" in by["portal"].reason
    assert "Connection refused" in by["down"].reason
    assert result.elapsed < result.timeout + 2.5


def test_stale_by_version_alone(sim_factory) -> None:
    """No feed at all: comparing the served version with the other mirrors still finds it."""
    sim = sim_factory(
        "clean",
        hosts=["pypi-tuna", "pypi-stale"],
        overrides={"pypi-stale": {"options": {"status_json": None}}},
    )
    cands = [_pypi(sim, "tuna", "pypi-tuna"), _pypi(sim, "stale", "pypi-stale", "/pypi/web/simple")]
    result = probe("pypi", cands, rounds=1, timeout=15, package="kdemo-lib", range_bytes=4096)
    by = {m.candidate.name: m for m in result.ranked}
    assert by["stale"].verdict == "stale" and by["stale"].sync is None
    assert "1.1.0" in by["stale"].reason and "1.2.0" in by["stale"].reason


def test_redirect_to_a_slow_host_is_measured_where_the_bytes_come_from(sim_factory) -> None:
    """A mirror whose index is fast but whose files 302 to a slow host ranks as slow."""
    sim = sim_factory(
        "clean",
        hosts=["pypi-tuna", "pypi-aliyun", "pypi-slow"],
        overrides={
            "pypi-slow": {"conn_rate": SLOW},
            "pypi-aliyun": {"options": {"redirect_files_to": "pypi-slow"}},
        },
    )
    cands = [_pypi(sim, "tuna", "pypi-tuna"), _pypi(sim, "redirector", "pypi-aliyun")]
    result = probe("pypi", cands, rounds=2, timeout=15, sample_seconds=1.0, **PYPI_OPTS)
    assert [m.candidate.name for m in result.ranked] == ["tuna", "redirector"]
    redirector = result.ranked[1]
    assert redirector.served_by == sim.url("pypi-slow").split("://")[1]


def test_a_stalled_mirror_is_cut_at_the_time_bound(sim_factory) -> None:
    sim = sim_factory(
        "clean",
        hosts=["pypi-tuna", "pypi-aliyun"],
        faults={"pypi-aliyun": [stall(after=0, path="*.whl")]},
    )
    cands = [_pypi(sim, "tuna", "pypi-tuna"), _pypi(sim, "stuck", "pypi-aliyun")]
    result = probe("pypi", cands, rounds=3, timeout=4, **PYPI_OPTS)
    by = {m.candidate.name: m for m in result.ranked}
    assert result.elapsed < 4 + 2.5
    assert by["tuna"].verdict == "ok" and len(by["tuna"].rounds) == 3
    assert by["stuck"].verdict == "timeout"
    assert result.winner.candidate.name == "tuna"


def test_hf_ranking(sim_factory) -> None:
    """HEAD on resolve for TTFB, ranged GET through the CDN redirect for throughput."""
    sim = sim_factory(
        "clean",
        hosts=["hf-mirror", "hf-cdn", "origin", "origin-cdn", "pypi-portal"],
        overrides={"origin-cdn": {"conn_rate": SLOW}},
    )
    cands = [
        parse_candidate(f"mirror={sim.url('hf-mirror')}", "hf"),
        parse_candidate(f"slowcdn={sim.url('origin')}", "hf"),
        parse_candidate(f"portal={sim.url('pypi-portal')}", "hf"),
        parse_candidate("down=http://127.0.0.1:9", "hf"),
    ]
    result = probe(
        "hf",
        cands,
        rounds=2,
        timeout=15,
        sample_seconds=1.0,
        range_bytes=1024 * 1024,
        repo="kuaidi-sim/demo-model",
    )
    by = {m.candidate.name: m for m in result.ranked}
    assert [m.candidate.name for m in result.ranked] == ["mirror", "slowcdn", "portal", "down"]
    assert [m.verdict for m in result.ranked] == ["ok", "ok", "not-index", "down"]
    assert by["mirror"].served_by == sim.url("hf-cdn").split("://")[1]
    assert by["slowcdn"].served_by == sim.url("origin-cdn").split("://")[1]
    assert len(by["mirror"].version) == 40  # the commit the mirror serves


def test_modelscope(sim_factory) -> None:
    sim = sim_factory("clean", hosts=["modelscope"])
    cands = [
        parse_candidate(f"modelscope={sim.url('modelscope')}", "modelscope"),
        parse_candidate("down=http://127.0.0.1:9", "modelscope"),
    ]
    result = probe(
        "modelscope",
        cands,
        rounds=2,
        timeout=15,
        range_bytes=256 * 1024,
        repo="kuaidi-sim/demo-model",
    )
    assert [(m.candidate.name, m.verdict) for m in result.ranked] == [
        ("modelscope", "ok"),
        ("down", "down"),
    ]
    assert result.ranked[0].throughput and result.ranked[0].ttfb is not None


def test_conda_ranking(conda_host) -> None:
    fast = conda_host("fast")
    slow = conda_host("slow", conn_rate=SLOW)
    old = conda_host("old", last_modified="Mon, 16 Nov 2026 06:00:00 GMT")
    portal = conda_host("portal", html=True)
    cands = [
        parse_candidate(f"{h.name}={h.base_url}/anaconda", "conda")
        for h in (slow, old, portal, fast)
    ]
    result = probe("conda", cands, rounds=2, timeout=15, sample_seconds=1.0, range_bytes=128 * 1024)
    assert [(m.candidate.name, m.verdict) for m in result.ranked] == [
        ("fast", "ok"),
        ("slow", "ok"),
        ("old", "stale"),
        ("portal", "not-index"),
    ]
    assert "7.0 days older" in result.ranked[2].reason


def _why(result) -> str:
    return repr([(m.candidate.name, m.verdict, [r.error for r in m.rounds]) for m in result.ranked])


def test_direct_versus_through_a_proxy(sim_factory) -> None:
    """The walled origin is `down` direct and reachable through a real tinyproxy; the mirror
    works both ways. The probe says which route it measured."""
    from kuaidi.sim.proxy import TinyProxy
    from tests.conftest import require_binary

    require_binary("tinyproxy")
    sim = sim_factory("wall", hosts=["hf-mirror", "hf-cdn", "origin", "origin-cdn"])
    cands = [
        parse_candidate(f"mirror={sim.url('hf-mirror')}", "hf"),
        parse_candidate(f"origin={sim.url('origin')}", "hf"),
    ]
    opts = {"rounds": 2, "timeout": 15, "range_bytes": 64 * 1024, "repo": "kuaidi-sim/tiny-model"}
    direct = probe("hf", cands, **opts)
    assert direct.route == "direct"
    verdicts = {m.candidate.name: m.verdict for m in direct.ranked}
    assert verdicts == {"mirror": "ok", "origin": "down"}, _why(direct)
    with TinyProxy() as proxy:
        through = probe("hf", cands, proxy=proxy.url, **opts)
    assert through.route == f"proxy {proxy.url}"
    verdicts = {m.candidate.name: m.verdict for m in through.ranked}
    assert verdicts == {"mirror": "ok", "origin": "ok"}, _why(through)
    by = {m.candidate.name: m for m in through.ranked}
    assert by["origin"].served_by == sim.url("origin-cdn").split("://")[1]
