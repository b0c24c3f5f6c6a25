"""Throughput is the steady rate (issue 11, defect 7): a 2 MiB sample once rated a CDN capped at
16 MiB/s at 1,068.5 MB/s. Unit tests of the steadiness logic on a fake clock, then the probe
ranking the sim's mirrors by their configured per-connection caps.

Nothing asserts a lower bound on a measured rate (a busy machine only lowers it); the upper
bounds are the sim's caps, which no load can raise."""

from __future__ import annotations

import json

from kuaidi.cli import main
from kuaidi.probe import parse_candidate, probe
from kuaidi.probe.steady import RateSampler, SamplePolicy
from kuaidi.sim.repos import RepoSpec
from kuaidi.units import KiB, MiB


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def feed(sampler: RateSampler, clock: Clock, chunks: list[tuple[float, int]]) -> int:
    """(seconds since the previous chunk, bytes) pairs until the sampler stops; chunks used."""
    for i, (dt, n) in enumerate(chunks, 1):
        clock.now += dt
        if sampler.add(n):
            return i
    sampler.ended()
    return len(chunks)


def capped_link(rate: float, burst: int, seconds: float, chunk: int = 64 * KiB):
    """A burst that arrives at once (buffers, a CDN's bucket), then ``rate`` bytes/s."""
    out = [(0.0, chunk)] * (burst // chunk)
    out += [(chunk / rate, chunk)] * int(seconds * rate / chunk)
    return out


def test_the_burst_is_not_the_rate() -> None:
    """2 MiB at once, then 16 MiB/s: the figure is 16 MiB/s, not the burst's."""
    clock = Clock()
    s = RateSampler(SamplePolicy(), clock=clock)
    used = feed(s, clock, capped_link(16 * MiB, 2 * MiB, 10))
    assert s.steady and s.stopped == "steady" and s.why_unsteady() == ""
    assert abs(s.rate - 16 * MiB) < 0.01 * MiB
    # stopped once 4 windows after the first agreed and 1 s had passed, not at the time cap
    assert 1.0 <= s.seconds < 1.6 and used < len(capped_link(16 * MiB, 2 * MiB, 10))


def test_a_sample_that_ends_in_the_burst_is_marked() -> None:
    """The old default: a 2 MiB file on that link is all burst: marked, never called steady."""
    clock = Clock()
    s = RateSampler(SamplePolicy(), clock=clock)
    feed(s, clock, [*capped_link(16 * MiB, 2 * MiB, 0.0), (0.001, 64 * KiB)])
    assert not s.steady and s.stopped == "ended"
    assert s.why_unsteady().startswith("the file ended after 2.1 MiB")


def test_a_rate_that_keeps_changing_runs_to_the_time_cap() -> None:
    """Ramping up (a slow start that does not end): cut at max_seconds, marked, rate after the
    first window."""
    clock = Clock()
    s = RateSampler(SamplePolicy(max_seconds=3.0), clock=clock)
    chunks = [(0.05, int(4 * KiB * 1.05**i)) for i in range(200)]  # +5 % every 50 ms
    feed(s, clock, chunks)
    assert not s.steady and s.stopped == "time"
    assert s.why_unsteady() == "the rate still varied after 3.0 s"
    assert s.rate is not None and s.rate > s.rates[0]


def test_byte_cap_and_deadline_are_reasons() -> None:
    clock = Clock()
    s = RateSampler(SamplePolicy(max_bytes=1 * MiB), clock=clock)
    feed(s, clock, [(0.01, 64 * KiB)] * 100)
    assert (s.stopped, s.nbytes) == ("bytes", 1 * MiB)
    assert s.why_unsteady().startswith("the 1.0 MiB cap was reached")
    s = RateSampler(SamplePolicy(), clock=clock)
    s.add(100)
    s.ended("deadline")
    assert s.rate is None and "time bound" in s.why_unsteady()


def test_steady_despite_jitter() -> None:
    """Chunks that arrive unevenly (±15 % around 4 MiB/s) still settle."""
    clock = Clock()
    s = RateSampler(SamplePolicy(), clock=clock)
    jitter = [0.85, 1.15, 1.0, 0.9, 1.1]
    chunks = [(64 * KiB / (4 * MiB) * jitter[i % 5], 64 * KiB) for i in range(400)]
    feed(s, clock, chunks)
    assert s.steady and abs(s.rate - 4 * MiB) < 0.2 * 4 * MiB


FAST, MID, SLOW = 16 * MiB, 4 * MiB, 256 * KiB
BIG = RepoSpec("kuaidi-sim/probe-big", "config.json:600B,model.safetensors:80MB", seed=11)


def test_ranking_follows_the_configured_speeds(sim_factory) -> None:
    """Three HF mirrors capped at 16 MiB/s, 4 MiB/s and 256 KiB/s per connection (the sim's
    token bucket lets a burst of 1/8 s through first, like a CDN): ranked in that order, each
    rate steady and under its cap (a 2 MiB sample once rated the 16 MiB/s one at 1 GB/s)."""
    caps = {"fast": FAST, "mid": MID, "slow": SLOW}
    sim = sim_factory(
        "clean",
        hosts=["hf-mirror", *caps],
        repos=[BIG],
        overrides={name: {"protocol": "hf", "conn_rate": cap} for name, cap in caps.items()},
    )
    cands = [parse_candidate(f"{name}={sim.url(name)}", "hf") for name in ("slow", "mid", "fast")]
    result = probe("hf", cands, rounds=2, timeout=25, repo=BIG.repo_id)
    order = [m.candidate.name for m in result.ranked]
    assert order == ["fast", "mid", "slow"], [
        (m.candidate.name, m.throughput) for m in result.ranked
    ]
    for m in result.ranked:
        assert m.verdict == "ok" and m.throughput is not None
        assert m.throughput <= caps[m.candidate.name] * 1.1, (m.candidate.name, m.throughput)
        assert m.steady is True, (m.candidate.name, m.unsteady)


def test_cli_marks_a_rate_that_did_not_settle(sim_factory, capsys) -> None:
    """The demo repo's 6 MiB file at 16 MiB/s ends before the rate can settle: the table marks
    the figure, the JSON says throughput_steady false and why."""
    sim = sim_factory("clean", hosts=["hf-mirror"], overrides={"hf-mirror": {"conn_rate": FAST}})
    args = ["probe", "hf", "--repo", "kuaidi-sim/demo-model", "--rounds", "1", "--timeout", "15"]
    args += ["--candidate", f"m={sim.url('hf-mirror')}"]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())  # the table wraps at 80 columns
    assert "MiB/s*" in out and "* not steady: the sample ended before the rate settled" in out
    assert "*rate" in out  # the why column's note (cell-wrapped); its text is in the JSON
    assert main([*args, "--json"]) == 0
    (cand,) = json.loads(capsys.readouterr().out)["targets"][0]["candidates"]
    assert cand["throughput_steady"] is False
    assert cand["throughput_note"].startswith("the file ended after 6.0 MiB")
