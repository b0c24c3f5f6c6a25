"""``kuaidi doctor --fix``: every safe repair, as one ``kuaidi setup`` run (never a hand write)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from kuaidi.doctor.context import Context
from kuaidi.doctor.model import Finding, Report, SetupFix
from kuaidi.setup import TARGETS, Plan, SetupOptions, apply, plan


@dataclass(frozen=True)
class FixResult:
    """What ``--fix`` did: the merged setup fix, the files written, the findings it addressed."""

    setup: SetupFix | None
    written: tuple[Path, ...]
    addressed: tuple[Finding, ...]
    plan: Plan | None = None


def merge_fixes(findings: Iterable[Finding]) -> SetupFix | None:
    """One setup run for all auto-fixable findings: targets united (in setup's order), the first
    mirror each finding names kept."""
    fixes = [f.auto_fix for f in findings if f.auto_fix is not None]
    if not fixes:
        return None
    targets = {t for fx in fixes for t in fx.targets}

    def first(attr: str) -> str | None:
        return next((getattr(fx, attr) for fx in fixes if getattr(fx, attr)), None)

    return SetupFix(
        tuple(t for t in TARGETS if t in targets),
        pypi=first("pypi"),
        conda=first("conda"),
        hf=first("hf"),
    )


def new_shell(ctx: Context) -> Context:
    """``ctx`` as a new login shell will see it: kuaidi's env file exported over the current
    environment (what ``--fix`` re-checks, since it cannot change the calling shell)."""
    from kuaidi.doctor.shellrc import kuaidi_exports

    return replace(ctx, environ={**ctx.environ, **kuaidi_exports(ctx)}, problems=[])


def fix(ctx: Context, report: Report, *, dry_run: bool = False) -> FixResult:
    """Apply every auto-fix of ``report`` through ``kuaidi.setup`` (atomic, undoable with
    ``kuaidi setup --undo``). ``dry_run`` plans only."""
    addressed = tuple(f for f in report.findings if f.auto_fix is not None)
    merged = merge_fixes(addressed)
    if merged is None:
        return FixResult(None, (), ())
    options = SetupOptions(
        home=ctx.home,
        root=ctx.root,
        environ=ctx.environ,
        only=frozenset(merged.targets),
        pypi=merged.pypi,
        conda=merged.conda,
        hf=merged.hf,
        platform=ctx.platform_name,
    )
    the_plan = plan(options)
    if dry_run:
        return FixResult(merged, (), addressed, the_plan)
    result = apply(the_plan)
    return FixResult(merged, result.written, addressed, the_plan)
