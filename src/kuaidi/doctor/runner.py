"""Run the registered checks against a :class:`Context` and collect a :class:`Report`."""

from __future__ import annotations

from collections.abc import Iterable

from kuaidi.doctor.context import Context
from kuaidi.doctor.model import REGISTRY, SEVERITIES, Finding, Report

_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def run(ctx: Context, *, offline: bool | None = None, only: Iterable[str] | None = None) -> Report:
    """Every check (or those whose id starts with one of ``only``); live ones unless offline.

    A check that raises does not stop the others: it is reported under ``crashed`` and makes the
    exit status non-zero, since a silent gap would read as "all clear".
    """
    offline = ctx.offline if offline is None else offline
    prefixes = tuple(only) if only else ()
    report = Report()
    for check_id, item in sorted(REGISTRY.items()):
        if prefixes and not check_id.startswith(prefixes):
            continue
        if item.live and offline:
            report.skipped.append(check_id)
            continue
        try:
            found = item.func(ctx)
        except Exception as exc:  # a bug in one check must not hide the others' findings
            report.crashed[check_id] = f"{type(exc).__name__}: {exc}"
            continue
        report.ran.append(check_id)
        report.findings += found
    for problem in ctx.problems:
        report.findings.append(
            Finding("config.unreadable", "warning", problem, (), "fix or move that file")
        )
    report.findings.sort(key=lambda f: (_RANK[f.severity], f.check_id, f.message))
    return report
