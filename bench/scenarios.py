"""The suite's scenarios (issue 13): link shapes, repos, faults and which peers run where.

Each scenario is data; :func:`bench.suite.run_scenario` runs it. Sizes are the issue's; the
``quick`` peer lists pick the subset ``make bench-quick`` runs (empty: not in the quick run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.peers import ARIA2C_HFD, ARIA2C_X16, Curl, HfDownload, Kuaidi, ModelScope, Peer
from kuaidi.sim.content import RepoSpec
from kuaidi.sim.faults import FaultRule, reset, stall

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Link:
    """A link shape, applied to every host that serves bytes (``hf-cdn``, ``modelscope``)."""

    conn_rate: float | None = None
    total_rate: float | None = None
    latency: float = 0.0

    def describe(self) -> str:
        parts = []
        if self.conn_rate:
            parts.append(f"{self.conn_rate / MiB:g} MiB/s per connection")
        if self.total_rate:
            parts.append(f"{self.total_rate / MiB:g} MiB/s total")
        parts.append(f"{self.latency * 1000:g} ms per request" if self.latency else "no RTT")
        return ", ".join(parts) if self.conn_rate or self.total_rate else "unshaped loopback"

    def host(self) -> dict[str, float | None]:
        return {"conn_rate": self.conn_rate, "total_rate": self.total_rate, "latency": self.latency}


@dataclass(frozen=True)
class Case:
    """One repo under one set of faults; a scenario's table has a block of rows per case."""

    label: str
    spec: RepoSpec
    faults: tuple[FaultRule, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    cases: tuple[Case, ...]
    link: Link
    peers: tuple[Peer, ...]
    quick: tuple[str, ...] = ()  # peer names in `make bench-quick`; empty = not in it
    kind: str = "plain"  # plain | resume | sources | memory
    cap: float | None = None  # MiB/s the "% of cap" column divides by (default link total)
    timeout: float = 900.0
    reps: int = 3
    plot_bytes: bool = False  # sample bytes on disk every 100 ms and plot them
    notes: tuple[str, ...] = field(default=())

    @property
    def cap_mib(self) -> float | None:
        if self.cap is not None:
            return self.cap
        return self.link.total_rate / MiB if self.link.total_rate else None


def _shards(repo_id: str, n: int, size: str, seed: int, *, ms: bool = False) -> RepoSpec:
    files = ["config.json:1KB"]
    files += [f"model-{i + 1:05d}-of-{n:05d}.safetensors:{size}" for i in range(n)]
    return RepoSpec(
        repo_id, ",".join(files), seed=seed, revisions=1, modelscope_id=repo_id if ms else None
    )


ONE_SHARD = _shards("bench/one-shard-1g", 1, "1GB", 51, ms=True)
FOUR_SHARDS = _shards("bench/four-shards-2g", 4, "512MB", 52, ms=True)
TWO_SHARDS = _shards("bench/two-shards-1g", 2, "512MB", 53, ms=True)
TEN_GB = _shards("bench/ten-shards-10g", 10, "1GB", 54)
SMALL_FILES = RepoSpec(
    "bench/small-files-2000",
    # 1-4 KB, deterministic: a spread of sizes, not one size repeated
    [(f"data/part-{i:05d}.json", 1024 + (i * 1543) % 3073) for i in range(2000)],
    seed=55,
    revisions=1,
    modelscope_id="bench/small-files-2000",
)

LINK = Link(4 * MiB, 64 * MiB, 0.06)
FLAKY_LINK = Link(8 * MiB, 64 * MiB, 0.06)
# 2 stalls (no byte until the client gives up) + 2 resets per run, seeded: the same requests
# fail in every run of the same tool; rate 0.5 spreads them over the first requests.
FAULTS = (
    stall(after="4MiB", path="*.safetensors", rate=0.5, times=2),
    reset(after="8MiB", path="*.safetensors", rate=0.5, times=2),
)

KUAIDI, HF, MS, CURL = Kuaidi(), HfDownload(), ModelScope(), Curl()
_MS = ("--modelscope-endpoint", "{ms}")  # kuaidi with the sim's ModelScope as a second source

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "one_shard",
        "One 1 GiB shard",
        (Case("", ONE_SHARD),),
        LINK,
        (KUAIDI, ARIA2C_HFD, ARIA2C_X16, HF, MS),
        quick=("kuaidi", "aria2c -x16", "aria2c hfd"),
    ),
    Scenario(
        "four_shards",
        "Four 512 MiB shards",
        (Case("", FOUR_SHARDS),),
        LINK,
        (KUAIDI, ARIA2C_HFD, ARIA2C_X16, HF),
    ),
    Scenario(
        "flaky",
        "Flaky link: 2 stalls + 2 resets per run",
        (Case("faults", TWO_SHARDS, FAULTS), Case("no faults", TWO_SHARDS)),
        FLAKY_LINK,
        (KUAIDI, ARIA2C_HFD, ARIA2C_X16, HF),
        quick=("kuaidi", "aria2c hfd", "hf"),
        timeout=300.0,
        plot_bytes=True,
    ),
    Scenario(
        "small_files",
        "2,000 small files",
        (Case("", SMALL_FILES),),
        Link(None, None, 0.15),
        (KUAIDI, HF, ARIA2C_HFD),
        quick=("kuaidi", "hf"),
    ),
    Scenario(
        "resume",
        "kill -9 at 50 %, then rerun",
        (Case("", TWO_SHARDS),),
        FLAKY_LINK,
        (KUAIDI, ARIA2C_HFD, HF),
        quick=("kuaidi", "aria2c hfd"),
        kind="resume",
        reps=1,
    ),
    Scenario(
        "loopback",
        "2 GiB on loopback, unshaped",
        (Case("", FOUR_SHARDS),),
        Link(),
        (KUAIDI, ARIA2C_X16, CURL, HF),
        quick=("kuaidi", "aria2c -x16", "curl"),
    ),
    Scenario(
        "two_sources",
        "Two sources: mirror + ModelScope at half the link each",
        (Case("", TWO_SHARDS),),
        Link(4 * MiB, 32 * MiB, 0.06),
        (
            Kuaidi("kuaidi both", extra=_MS),
            Kuaidi("kuaidi mirror only", extra=(*_MS, "--source", "mirror")),
            Kuaidi("kuaidi ModelScope only", extra=(*_MS, "--source", "modelscope")),
            MS,
        ),
        quick=("kuaidi both", "kuaidi mirror only"),
        kind="sources",
        cap=64.0,
    ),
    Scenario(
        "memory",
        "Memory: 1 GiB and 10 GiB repos at 16 connections",
        (Case("1 GiB", ONE_SHARD), Case("10 GiB", TEN_GB)),
        Link(),
        (KUAIDI,),
        kind="memory",
        reps=1,
    ),
)
BY_NAME = {s.name: s for s in SCENARIOS}
