"""A probe result as a rich table (people) or stable JSON (scripts, docs/probe.md)."""

from __future__ import annotations

from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table

from kuaidi.net.urls import redact
from kuaidi.probe import ProbeResult
from kuaidi.probe.measure import Measurement
from kuaidi.units import format_rate

JSON_VERSION = 1
STYLE = {
    "ok": "green",
    "stale": "yellow",
    "broken": "red",
    "not-index": "red",
    "timeout": "red",
    "down": "red",
}


UNSTEADY = "*"  # marks a rate that never settled (steady.py); explained under the table


def _rate(m: Measurement) -> str:
    if m.throughput is None:
        return "—"
    return format_rate(m.throughput) + ("" if m.steady else UNSTEADY)


def _why(m: Measurement) -> str:
    notes = [*_served(m), *m.notes]
    if m.steady is False:
        notes.append(f"{UNSTEADY}rate not steady: {m.unsteady}")
    return m.reason or "; ".join(notes)


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.0f} ms"


def _served(m: Measurement) -> list[str]:
    if not m.version:
        return []
    if m.order == "version":
        return [f"serves {m.version}"]
    if m.order == "equal":
        return [f"commit {m.version[:12]}"]
    return []


def measurement_dict(m: Measurement) -> dict[str, Any]:
    c = m.candidate
    return {
        "name": c.name,
        "url": redact(c.url, keep_user=False),
        "catalog": c.catalog,
        "verdict": m.verdict,
        "reason": m.reason,
        "ttfb_ms": None if m.ttfb is None else round(m.ttfb * 1000, 1),
        "throughput_bps": None if m.throughput is None else round(m.throughput),
        # false: the sample ended before its rate settled, and throughput_note says why
        "throughput_steady": m.steady,
        "throughput_note": m.unsteady,
        "rounds": len(m.rounds),
        "failed_rounds": sum(1 for r in m.rounds if r.failure),
        "served_by": m.served_by,
        "version": m.version,
        "sync": None
        if m.sync is None
        else {"state": m.sync.state, "last_success": m.sync.last_success},
        "notes": list(m.notes),
    }


def as_dict(results: list[ProbeResult]) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "targets": [
            {
                "kind": r.kind,
                "route": r.route,
                "elapsed_s": round(r.elapsed, 2),
                "timeout_s": r.timeout,
                "rounds": r.rounds,
                "winner": r.winner.candidate.name if r.winner else None,
                "candidates": [measurement_dict(m) for m in r.ranked],
            }
            for r in results
        ],
    }


def render(result: ProbeResult, console: Console) -> None:
    table = Table(
        title=f"kuaidi probe {result.kind} — {result.route}, {result.rounds} rounds, median figures"
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("#", "right"),
        ("mirror", "left"),
        ("verdict", "left"),
        ("TTFB", "right"),
        ("throughput", "right"),
        ("failed", "right"),
        ("served by", "left"),
        ("freshness / why", "left"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify)
    for i, m in enumerate(result.ranked, 1):
        why = _why(m)
        served = m.served_by or "—"
        if m.served_by and m.served_by != m.candidate.host.split("/")[0]:
            served += " (redirected)"
        table.add_row(
            str(i),
            m.candidate.name,
            f"[{STYLE[m.verdict]}]{m.verdict}[/]",
            _ms(m.ttfb),
            _rate(m),
            f"{sum(1 for r in m.rounds if r.failure)}/{len(m.rounds)}",
            served,
            why,
        )
    console.print(table)
    if any(m.steady is False for m in result.ranked):
        console.print(
            f"{UNSTEADY} not steady: the sample ended before the rate settled, a rough figure"
            " (time a bigger file: --repo / --artifact-package)",
            soft_wrap=True,
        )
    winner = result.winner
    took = f"took {result.elapsed:.1f} s of a {result.timeout:g} s bound"
    if winner is None:
        console.print(f"no usable {result.kind} mirror; {took}")
    else:
        console.print(
            f"recommended {result.kind} mirror: [bold]{winner.candidate.name}[/] "
            f"({redact(winner.candidate.url, keep_user=False)}); {took}"
        )
