"""How a doctor report is shown: a rich listing for people, stable JSON for scripts.

The JSON schema (``version`` 1) is documented in docs/doctor.md; keys are sorted, findings are
ordered by severity, then check id, then message.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from kuaidi import __version__
from kuaidi.doctor.context import Context
from kuaidi.doctor.fixing import FixResult
from kuaidi.doctor.model import REGISTRY, SEVERITIES, Report

JSON_VERSION = 1
STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def as_dict(report: Report, ctx: Context, fixed: FixResult | None = None) -> dict[str, Any]:
    """The ``--json`` document."""
    checks = []
    for check_id, item in sorted(REGISTRY.items()):
        if check_id in report.crashed:
            status = "crashed"
        elif check_id in report.skipped:
            status = "skipped"
        elif check_id not in report.ran:
            status = "not-run"
        elif any(f.check_id == check_id for f in report.findings):
            status = "found"
        else:
            status = "ok"
        checks.append(
            {
                "id": check_id,
                "severity": item.severity,
                "title": item.title,
                "live": item.live,
                "status": status,
            }
        )
    platform = ctx.platform
    doc: dict[str, Any] = {
        "version": JSON_VERSION,
        "kuaidi": __version__,
        "platform": {
            "name": platform.name,
            "display": platform.display,
            "data_disk": str(ctx.data_disk) if ctx.data_disk else None,
        },
        "offline": ctx.offline,
        "summary": {s: report.count(s) for s in SEVERITIES},
        "findings": [f.to_dict() for f in report.findings],
        "checks": checks,
        "crashed": dict(sorted(report.crashed.items())),
        "exit_code": report.exit_code,
    }
    if fixed is not None:
        doc["fix"] = {
            "setup": fixed.setup.command() if fixed.setup else None,
            "written": [str(p) for p in fixed.written],
            "addressed": sorted({f.check_id for f in fixed.addressed}),
            # after a fix the findings are re-checked as a new shell will see them
            "rechecked_as": "new-shell" if fixed.setup else None,
        }
    return doc


def to_json(report: Report, ctx: Context, fixed: FixResult | None = None) -> str:
    """Stable JSON text: sorted keys, two-space indent, UTF-8 as is."""
    return json.dumps(as_dict(report, ctx, fixed), sort_keys=True, indent=2, ensure_ascii=False)


def render(report: Report, ctx: Context, console: Console, *, after_fix: bool = False) -> None:
    """The human listing: one block per finding, then a summary line.

    A fix shared by several findings (one cause, e.g. no_proxy) is printed in full once; the
    later findings point back to it. Nothing is wrapped: commands must copy-paste whole.
    """
    platform = ctx.platform
    disk = ctx.data_disk or "none"
    out = functools.partial(console.print, highlight=False, soft_wrap=True)
    out(f"platform: {escape(platform.display)}; data disk: {escape(str(disk))}")
    if after_fix:
        out("after the fix, as a new shell will see it:")
    first_with: dict[str, str] = {}  # fix text -> check id that showed it
    autos: set[str] = set()
    for finding in report.findings:
        style = STYLE[finding.severity]
        head = f"[{style}]{finding.severity.upper():7}[/] [bold]{finding.check_id}[/]"
        out(f"{head}  {escape(finding.message)}")
        for line in finding.evidence:
            out(f"         seen: {escape(line)}")
        # one cause, one fix: the same command (its first clause) is shown once
        key = finding.fix.split(";")[0].strip()
        if finding.fix and key in first_with:
            out(f"         fix:  the same as for {first_with[key]} above")
            continue
        if finding.fix:
            first_with[key] = finding.check_id
            out(f"         fix:  {escape(finding.fix)}")
        if finding.auto_fix and finding.auto_fix.command() not in autos:
            autos.add(finding.auto_fix.command())
            out(f"         auto: kuaidi doctor --fix  (runs {escape(finding.auto_fix.command())})")
    for check_id, error in sorted(report.crashed.items()):
        out(f"[bold red]CRASHED[/] {check_id}: {escape(error)}")
    counts = ", ".join(
        f"{report.count(s)} {s}{'s' if report.count(s) != 1 else ''}" for s in SEVERITIES
    )
    skipped = f"; skipped (offline): {', '.join(report.skipped)}" if report.skipped else ""
    out(f"{len(report.ran)} checks ran: {counts}{skipped}")
