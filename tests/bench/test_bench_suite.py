"""The benchmark suite end to end on a tiny repo: every peer runs once against the sim.

A broken peer integration (a changed CLI flag, a client that no longer honours the sim's
endpoint) fails here, in `make test`, not first in a 25-minute `make bench`. Outcomes only:
exit code, sha256 of every byte, the sim's counters, the rendered section; never timings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.peers import PEERS
from bench.report import replace_section, section
from bench.scenarios import Case, Link, Scenario
from bench.suite import load, run_scenario

from kuaidi.sim.content import RepoSpec
from kuaidi.sim.faults import reset
from tests.conftest import require_binary

pytestmark = pytest.mark.timeout(240)

TINY = RepoSpec(
    "bench/tiny-suite",
    "config.json:1KB,model-00001-of-00002.safetensors:3MB,model-00002-of-00002.safetensors:2MB",
    seed=77,
    revisions=1,
    modelscope_id="bench/tiny-suite",
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    require_binary("aria2c")
    require_binary("curl")
    out = tmp_path_factory.mktemp("bench")
    scenario = Scenario(
        "tiny", "Tiny", (Case("", TINY),), Link(None, 64 << 20, 0.0), tuple(PEERS.values()), reps=1
    )
    return scenario, run_scenario(scenario, out), out


def test_every_peer_downloads_and_verifies(tiny_run) -> None:  # type: ignore[no-untyped-def]
    _, res, _ = tiny_run
    case = res.cases[0]
    assert set(case.runs) == set(PEERS)
    for tool, runs in case.runs.items():
        (run,) = runs
        assert run.exit == 0, (tool, run.note)
        assert run.verified, tool
        assert run.conns >= 1, tool  # the sim saw the peer's own TCP connections
        assert run.served >= case.size, tool  # every byte came from the sim
        assert run.rss > 0 and run.cpu > 0, tool


def test_results_round_trip_and_render(tiny_run) -> None:  # type: ignore[no-untyped-def]
    scenario, res, out = tiny_run
    again = load(out / "results" / "tiny.json")
    assert [list(c.runs) for c in again.cases] == [list(c.runs) for c in res.cases]
    body = section(scenario, again, [])
    assert body.startswith("## Tiny")
    for tool in PEERS:
        assert f"| {tool} | 1 |" in body
    assert "failed" not in body


def test_sections_replace_only_their_block() -> None:
    doc = "# B\n\nintro\n\n<!-- bench:a -->\nold a\n<!-- /bench:a -->\n\nkept prose\n"
    doc = replace_section(doc, "a", "new a")
    doc = replace_section(doc, "b", "new b")
    doc = replace_section(doc, "b", "newer b")
    assert "old a" not in doc and "new a" in doc and "kept prose" in doc
    assert doc.count("<!-- bench:b -->") == 1 and "newer b" in doc and "new b\n" not in doc


def test_a_failing_peer_is_reported_not_raised(tmp_path: Path) -> None:
    require_binary("curl")
    # curl (one stream, no retries) meets a reset on its first shard and gives up.
    faults = (reset(after="1MiB", path="*.safetensors", times=1),)
    scenario = Scenario(
        "tiny_faults",
        "Tiny, faults",
        (Case("faults", TINY, faults),),
        Link(),
        (PEERS["curl"],),
        reps=1,
    )
    res = run_scenario(scenario, tmp_path)
    (run,) = res.cases[0].runs["curl"]
    assert not run.ok and run.exit not in (0, None)
    assert "1 reset" in run.note and "curl" in run.note  # the fault, then curl's own words
    assert "failed" in section(scenario, res, [])
