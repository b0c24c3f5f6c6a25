"""``kuaidi doctor``: find the known traps, show the evidence and the fix; ``--fix`` repairs the
safe ones through ``kuaidi setup``. Exit status 1 while an error-level finding remains."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from kuaidi.doctor import REGISTRY, Context, fix, new_shell, run
from kuaidi.doctor.report import render, to_json
from kuaidi.errors import UsageError


@click.command(name="doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (docs/doctor.md).")
@click.option(
    "--fix", "do_fix", is_flag=True, help="Repair what is safe to repair (via kuaidi setup)."
)
@click.option(
    "--dry-run", is_flag=True, help="With --fix: print the diffs the fix would make; write nothing."
)
@click.option("--offline", is_flag=True, help="Skip the live checks (no network).")
@click.option("--only", metavar="PREFIXES", help="Comma list of check ids or prefixes (hf,proxy).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=600),
    default=3.0,
    show_default=True,
    help="Seconds per live request (more than 0).",
)
@click.option(
    "--root",
    envvar="KUAIDI_ROOT",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Read the box under this root (a fake tree in tests).",
)
@click.option("--platform", "platform_name", metavar="NAME", help="Skip platform detection.")
def command(
    as_json: bool,
    do_fix: bool,
    dry_run: bool,
    offline: bool,
    only: str | None,
    timeout: float,
    root: Path,
    platform_name: str | None,
) -> int:
    """Find the traps that make downloads on this box slow, stuck or wrong."""
    prefixes = _prefixes(only)
    ctx = Context.real(root=root, offline=offline, timeout=timeout, platform_name=platform_name)
    if dry_run and not do_fix:
        raise UsageError("--dry-run only applies to --fix", fix="use kuaidi doctor --fix --dry-run")
    report = run(ctx, only=prefixes)
    fixed = None
    if do_fix and dry_run:
        planned = fix(ctx, report, dry_run=True)
        if as_json:
            click.echo(to_json(report, ctx, planned))
            return report.exit_code
        console = Console(highlight=False, soft_wrap=True)
        render(report, ctx, console)
        if planned.plan is None:
            console.print("nothing to fix automatically; the fixes above are manual")
            return report.exit_code
        click.echo(planned.plan.diff, nl=False)
        console.print(
            f"dry run: {planned.setup.command() if planned.setup else ''} would change "
            f"{len(planned.plan.changes)} file(s); nothing written"
        )
        return report.exit_code
    if do_fix:
        fixed = fix(ctx, report)
        if fixed.setup is not None:
            # Re-check as a new shell will see it: setup's files, plus its env file's exports
            # (a child process cannot change this shell's variables).
            ctx = Context.real(
                root=root, offline=offline, timeout=timeout, platform_name=platform_name
            )
            ctx = new_shell(ctx)
            report = run(ctx, only=prefixes)
    if as_json:
        click.echo(to_json(report, ctx, fixed))
        return report.exit_code
    console = Console(highlight=False, soft_wrap=True)
    render(report, ctx, console, after_fix=fixed is not None and fixed.setup is not None)
    if fixed is not None:  # what was fixed comes last
        if fixed.written:
            console.print(
                f"fixed {len(fixed.addressed)} finding(s) via: "
                f"{fixed.setup.command() if fixed.setup else ''}"
            )
            for path in fixed.written:
                console.print(f"  wrote {path}")
        elif fixed.setup is not None:
            console.print("already fixed on disk")
        else:
            console.print("nothing to fix automatically; the fixes above are manual")
        if fixed.setup is not None:
            console.print(
                "the listing above is what a new shell will see; this shell: "
                f'. "{ctx.kuaidi_env_file}"\nundo with: kuaidi setup --undo',
                soft_wrap=True,
            )
    return report.exit_code


def _prefixes(only: str | None) -> list[str] | None:
    """``--only``'s check ids or prefixes; one that selects no check is a usage error."""
    if only is None:
        return None
    prefixes = [p.strip() for p in only.split(",") if p.strip()]
    unknown = [p for p in prefixes if not any(c.startswith(p) for c in REGISTRY)]
    if unknown or not prefixes:
        areas = sorted({c.split(".")[0] for c in REGISTRY})
        raise UsageError(
            f"--only {only!r}: no check is called {', '.join(unknown) or 'that'}",
            fix=f"use check ids or prefixes: {', '.join(areas)} (kuaidi doctor --json lists ids)",
        )
    return prefixes
