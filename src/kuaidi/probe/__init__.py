"""``kuaidi probe``: measure every mirror of a target the way a download will use it.

    For example::

        from kuaidi.probe import probe, parse_candidate
        result = probe("pypi", rounds=3, timeout=20)
        result.winner.candidate.name
        # 'tuna'
        probe("pypi", candidates=[parse_candidate("lan=http://10.0.0.5/simple", "pypi")])

Candidates are measured in parallel (one thread each), their rounds in sequence, all inside one
overall time bound. Per round: time to first byte on a small target-specific request, then
throughput on a ranged GET of a real artifact, redirects followed and the serving host credited,
read until the rate is steady (:mod:`kuaidi.probe.steady`; a rate that never settled is marked).
Freshness comes from the mirror's tunasync / mirrorz feed and from comparing what the mirrors
serve. See :mod:`kuaidi.probe.rank` for verdicts and ordering.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from kuaidi.errors import KuaidiError
from kuaidi.probe.candidates import TARGETS, Candidate, from_catalog, parse_candidate
from kuaidi.probe.measure import Measurement, Round, measure
from kuaidi.probe.rank import classify, compare_versions, rank
from kuaidi.probe.steady import SamplePolicy
from kuaidi.probe.targets import make_target

DEFAULT_TIMEOUT = 20.0
DEFAULT_RANGE = SamplePolicy().max_bytes
DEFAULT_SAMPLE_SECONDS = SamplePolicy().max_seconds


@dataclass
class ProbeResult:
    """One target's ranked measurements and how long the probe took."""

    kind: str
    ranked: list[Measurement]
    elapsed: float
    timeout: float
    rounds: int
    options: dict[str, str | None] = field(default_factory=dict)
    proxy: str | None = None  # None: measured direct

    @property
    def route(self) -> str:
        """``direct`` or ``proxy <url>`` (credentials hidden)."""
        from kuaidi.net.urls import redact

        return "direct" if self.proxy is None else f"proxy {redact(self.proxy)}"

    @property
    def winner(self) -> Measurement | None:
        """The best ``ok`` candidate, or None when none is usable."""
        best = self.ranked[0] if self.ranked else None
        return best if best is not None and best.verdict == "ok" else None


def probe(
    kind: str,
    candidates: list[Candidate] | None = None,
    *,
    rounds: int = 3,
    timeout: float = DEFAULT_TIMEOUT,
    range_bytes: int = DEFAULT_RANGE,
    sample_seconds: float = DEFAULT_SAMPLE_SECONDS,
    request_timeout: float = 8.0,
    proxy: str | None = None,
    **target_options: str | None,
) -> ProbeResult:
    """Measure ``candidates`` (default: the catalog's mirrors of ``kind``) and rank them.

    ``timeout`` bounds the whole probe; each throughput sample reads until its rate is steady,
    at most ``range_bytes`` and ``sample_seconds``; ``proxy`` measures every request through
    that proxy instead of direct (to compare a platform proxy with the direct route);
    ``target_options``: ``package`` / ``artifact_package`` (pypi), ``repo`` / ``small`` /
    ``big`` (hf), ``repo`` (modelscope).
    """
    if kind not in TARGETS:
        raise KuaidiError(
            f"unknown probe target {kind!r}", fix=f"choose one of: {', '.join(TARGETS)}, all"
        )
    if rounds < 1:
        raise KuaidiError(f"--rounds {rounds} is less than 1", fix="use --rounds 1 or more")
    cands = from_catalog(kind) if candidates is None else candidates
    if not cands:
        raise KuaidiError(f"no {kind} candidates to probe", fix="add --candidate name=URL")
    target = make_target(kind, **target_options)
    policy = SamplePolicy(
        min_seconds=min(SamplePolicy.min_seconds, sample_seconds),
        max_seconds=sample_seconds,
        max_bytes=range_bytes,
    )
    start = time.monotonic()
    deadline = start + timeout
    results = [Measurement(c) for c in cands]
    pool = ThreadPoolExecutor(max_workers=len(cands), thread_name_prefix="kuaidi-probe")
    try:
        futures = [
            pool.submit(
                measure,
                c,
                target,
                r,
                rounds=rounds,
                deadline=deadline,
                policy=policy,
                request_timeout=request_timeout,
                proxy=proxy,
            )
            for c, r in zip(cands, results, strict=True)
        ]
        # Every request's own timeout ends at the deadline; the grace covers the last close().
        wait(futures, timeout=max(0.0, deadline - time.monotonic()) + 2.0)
        for future, res in zip(futures, results, strict=True):
            exc = future.exception() if future.done() else None
            if exc is not None:
                res.rounds.append(Round(failure="error", error=f"{type(exc).__name__}: {exc}"))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    snapshot = []
    for res in results:
        copy = Measurement(
            res.candidate, list(res.rounds), res.version, res.order, res.problem, res.sync
        )
        classify(copy)
        snapshot.append(copy)
    compare_versions(snapshot)
    return ProbeResult(
        kind,
        rank(snapshot),
        time.monotonic() - start,
        timeout,
        rounds,
        dict(target_options),
        proxy,
    )


__all__ = [
    "DEFAULT_TIMEOUT",
    "TARGETS",
    "Candidate",
    "Measurement",
    "ProbeResult",
    "from_catalog",
    "parse_candidate",
    "probe",
]
