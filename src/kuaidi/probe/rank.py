"""Verdicts and ranking.

Each candidate gets one verdict, kept distinct from "slow" on purpose:

``down``       no connection in any round (closed port, DNS, firewall)
``not-index``  it answers, but with HTML or something else than the target's index (captive
               portal, login page, a site that is not a mirror of this target)
``broken``     it answers with HTTP errors in every round (404 for the package, 5xx)
``timeout``    no round finished inside the time bound
``stale``      it serves, but is behind: its feed's last successful sync is older than a day, or
               it serves an older version (or a minority commit) than the other candidates
``ok``         usable; ranked

Ranking (documented in docs/probe.md): ``ok`` candidates first, those failing more than a
quarter of their rounds after the reliable ones; within a group, higher median throughput wins
and lower median TTFB breaks ties; then ``stale``, ``broken``, ``not-index``, ``timeout``,
``down``.
"""

from __future__ import annotations

import time
from collections import Counter

from kuaidi.probe.freshness import STALE_AFTER, version_key
from kuaidi.probe.measure import Measurement

UNRELIABLE = 0.25  # failure rate above which a fast mirror ranks after every reliable one
ORDER = ("ok", "stale", "broken", "not-index", "timeout", "down")


def classify(m: Measurement, *, now: float | None = None) -> None:
    """Set ``m.verdict`` and ``m.reason`` from its rounds and feed (freshness across candidates
    is :func:`compare_versions`)."""
    now = time.time() if now is None else now
    good = m.good()
    failures = Counter(r.failure for r in m.rounds if r.failure)
    if not m.rounds:
        m.verdict, m.reason = "timeout", "no round finished within the time bound"
    elif not good and set(failures) == {"down"}:
        m.verdict, m.reason = "down", m.rounds[0].error
    elif not good and "not-index" in failures:
        m.verdict, m.reason = "not-index", m.problem or "not an index"
    elif not good and set(failures) <= {"timeout"}:
        m.verdict, m.reason = "timeout", m.rounds[0].error
    elif not good:
        m.verdict, m.reason = "broken", Counter(r.error for r in m.rounds).most_common(1)[0][0]
    else:
        m.verdict, m.reason = "ok", ""
        if failures:
            m.notes.append(
                f"{sum(failures.values())} of {len(m.rounds)} rounds failed "
                f"({', '.join(sorted({r.error for r in m.rounds if r.failure}))})"
            )
    if m.sync is not None:
        age = m.sync.age(now)
        if age is not None:
            m.notes.append(f"feed: {m.sync.state}, last sync {_age(age)} ago")
        if m.verdict in ("ok", "broken") and m.sync.stale(now):
            m.verdict = "stale"
            m.reason = f"last successful sync {_age(age or 0)} ago (feed status: {m.sync.state})"


def compare_versions(measurements: list[Measurement]) -> None:
    """Mark ``ok`` candidates that serve less than the others as ``stale``."""
    # "broken" ones that still served an index page take part: a package missing from a mirror
    # whose index is behind is staleness, not breakage.
    ok = [m for m in measurements if m.verdict in ("ok", "broken") and m.version]
    if len(ok) < 2:
        return
    order = ok[0].order
    if order == "equal":  # commits: only a strict majority can say who is behind
        counts = Counter(m.version for m in ok)
        best, n = counts.most_common(1)[0]
        if n * 2 <= len(ok):
            return
        for m in ok:
            if m.version != best:
                m.verdict = "stale"
                m.reason = (
                    f"serves commit {str(m.version)[:12]}; most mirrors serve {str(best)[:12]}"
                )
        return
    if order == "date":
        latest = max(int(m.version or 0) for m in ok)
        for m in ok:
            behind = latest - int(m.version or 0)
            if m.verdict == "broken" and behind <= STALE_AFTER:
                continue
            if behind > STALE_AFTER:
                m.verdict = "stale"
                m.reason = f"its index is {_age(behind)} older than the newest mirror's"
        return
    newest = max((m.version for m in ok if m.version), key=version_key)
    for m in ok:
        if version_key(m.version or "0") < version_key(newest):
            m.verdict = "stale"
            m.reason = f"newest version here is {m.version}; other mirrors have {newest}"


def rank(measurements: list[Measurement]) -> list[Measurement]:
    """Best first (see the module doc)."""

    def key(m: Measurement) -> tuple:
        unreliable = (m.failure_rate or 0) > UNRELIABLE
        return (
            ORDER.index(m.verdict),
            unreliable,
            -(m.throughput or 0.0),
            m.ttfb if m.ttfb is not None else float("inf"),
            m.candidate.name,
        )

    return sorted(measurements, key=key)


def _age(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
