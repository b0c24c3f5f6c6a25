"""``kuaidi setup``: mirror pip, uv, conda and HF, move caches to the data disk, one marked line in
the shell rc files. Idempotent (``--dry-run`` shows the diffs) and reversible (``--undo``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kuaidi.errors import KuaidiError
from kuaidi.platforms import ALL_PROFILES
from kuaidi.setup import TARGETS, SetupOptions, apply, plan, undo


def mirror_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``setup``, ``env`` and ``script`` share."""
    decorators = [
        click.option("--pypi", metavar="NAME|URL", help="PyPI mirror (default tuna)."),
        click.option("--conda", metavar="NAME|URL", help="conda mirror (default tuna)."),
        click.option("--hf", metavar="NAME|URL", help="HF endpoint (default hf-mirror)."),
        click.option(
            "--python-mirror", metavar="NAME|URL", help="uv python-install-mirror (default nju)."
        ),
        click.option(
            "--platform",
            "platform_name",
            metavar="NAME",
            help="Skip detection: " + ", ".join(p.name for p in ALL_PROFILES) + ".",
        ),
        click.option(
            "--root",
            envvar="KUAIDI_ROOT",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("/"),
            show_default=True,
            help="Detect the platform under this root (a fake tree in tests; env KUAIDI_ROOT).",
        ),
        click.option(
            "--data-disk",
            type=click.Path(file_okay=False, path_type=Path),
            help="Put caches here instead of the platform's data disk.",
        ),
        click.option(
            "--only",
            metavar="LIST",
            help=f"Comma list of what to configure: {','.join(TARGETS)} (default all).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def options_from(params: dict[str, Any]) -> SetupOptions:
    """Build ``SetupOptions`` from the shared click parameters (real HOME and environment)."""
    only = params.get("only")
    return SetupOptions(
        root=params.get("root") or Path("/"),
        only=frozenset(t.strip() for t in only.split(",") if t.strip()) if only else None,
        pypi=params.get("pypi"),
        conda=params.get("conda"),
        hf=params.get("hf"),
        python_mirror=params.get("python_mirror"),
        platform=params.get("platform_name"),
        data_disk=params.get("data_disk"),
        proxy=params.get("proxy"),
    )


def _free(path: Path) -> str:
    try:
        st = os.statvfs(path)
    except OSError:
        return "does not exist yet"
    return f"{st.f_bavail * st.f_frsize / 1e9:.1f} GB free"


@click.command(name="setup")
@mirror_options
@click.option(
    "--dry-run", is_flag=True, help="Print the unified diff of every file; write nothing."
)
@click.option("--undo", "do_undo", is_flag=True, help="Restore every file kuaidi setup wrote.")
@click.option("--force", is_flag=True, help="With --undo: restore files edited since.")
@click.option(
    "--proxy",
    metavar="URL",
    help="Origin-side proxy for git's GitHub scope (default KUAIDI_PROXY, else the platform's "
    "network_turbo); 'none' = write no git proxy.",
)
def command(dry_run: bool, do_undo: bool, force: bool, **params: Any) -> int:
    """Configure pip, uv, conda, HF, ModelScope mirrors and caches for this box."""
    if do_undo:
        result = undo(force=force, dry_run=dry_run)
        if dry_run:
            click.echo(result.diff, nl=False)
            changed = len(result.restored) + len(result.removed)
            click.echo(f"dry run: undo would change {changed} file(s); nothing written")
            return 0
        if result.nothing:
            click.echo("nothing to undo")
        for path in result.restored:
            click.echo(f"restored {path}")
        for path in result.removed:
            click.echo(f"removed  {path}")
        for path in result.kept_edits:
            click.echo(f"your edited copy kept at {path}")
        for path in result.swept:
            click.echo(f"swept    {path} (left by a killed run)")
        return 0
    if force:
        raise KuaidiError("--force only applies to --undo", fix="use kuaidi setup --undo --force")
    the_plan = plan(options_from(params))
    ctx = the_plan.context
    disk = ctx.data_disk
    where = f"{disk} ({_free(disk)})" if disk else "their default places under $HOME"
    click.echo(f"platform: {ctx.platform.display}; caches on: {where}")
    for warning in the_plan.warnings:
        click.echo(f"note: {warning}")
    for left in the_plan.left_caches:
        # setup repoints variables; it moves no data (README: what setup does)
        click.echo(
            f"note: {left.old} ({left.shown_size}) stays where it is; {left.variable} now points "
            f"at {left.new}, so tools no longer see it. Move it: {left.move_command}"
        )
    if dry_run:
        click.echo(the_plan.diff, nl=False)
        click.echo(f"dry run: {len(the_plan.changes)} file(s) would change; nothing written")
        return 0
    applied = apply(the_plan)  # an empty plan still sweeps what a killed run left
    for path in applied.swept:
        click.echo(f"swept {path} (left by a killed run)")
    if the_plan.empty:
        click.echo("already set up: nothing changed")
        return 0
    for path in applied.written:
        click.echo(f"wrote {path}")
    click.echo(f'new shells get the settings; this one: . "{ctx.env_file}"')
    click.echo("undo with: kuaidi setup --undo")
    return 0
