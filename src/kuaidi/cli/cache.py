"""``kuaidi cache``: list what is in the HF cache, and verify blobs against their hashes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from kuaidi.errors import KuaidiError
from kuaidi.get import default_cache_dir
from kuaidi.store.inspect import list_repos, verify
from kuaidi.units import format_size, plural

_CACHE_OPT = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="HF cache (default HF_HUB_CACHE or $HF_HOME/hub).",
)


@click.group(name="cache")
def command() -> None:
    """Inspect the Hugging Face cache kuaidi (and huggingface_hub) write."""


@command.command(name="list")
@_CACHE_OPT
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(cache_dir: Path | None, as_json: bool) -> int:
    """Repos in the cache with size, revisions and resumable partial bytes."""
    cache = cache_dir or default_cache_dir()
    repos = list_repos(cache)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "repo_type": r.repo_type,
                        "repo_id": r.repo_id,
                        "size": r.size,
                        "blobs": r.blobs,
                        "revisions": r.revisions,
                        "partial_bytes": r.partial_bytes,
                        "partials": r.partials,
                        "complete": r.complete,
                        "path": str(r.path),
                    }
                    for r in repos
                ],
                indent=1,
            )
        )
        return 0
    table = Table(title=str(cache))
    # A repo id is something users copy into the next command: never cut it with an ellipsis.
    longest = max((len(r.repo_id) for r in repos), default=4)
    for col in ("type", "repo", "size", "files", "refs", "partial (resumable)"):
        table.add_column(col, no_wrap=col == "repo", min_width=longest if col == "repo" else None)
    for r in repos:
        partial = "-"
        if r.partials:
            partial = f"{format_size(r.partial_bytes)} in {plural(r.partials, 'file')}"
        table.add_row(
            r.repo_type,
            r.repo_id,
            format_size(r.size),
            str(r.blobs),
            ", ".join(r.revisions) or ("-" if r.complete else "(interrupted: no snapshot yet)"),
            partial,
        )
    # In a pipe rich assumes 80 columns; the table is only as wide as its content anyway.
    Console(width=None if sys.stdout.isatty() else 240).print(table)
    try:  # huggingface_hub's own view, when installed: its warnings mean a broken layout
        from huggingface_hub import scan_cache_dir

        warnings = scan_cache_dir(cache).warnings
    except Exception:
        warnings = []
    # An interrupted first download has blobs but no snapshots/ yet: hub calls that corrupt,
    # kuaidi lists it above as partial — a rerun resumes it.
    interrupted = [str(r.path) for r in repos if not r.complete]
    for warning in warnings:
        if not any(path in str(warning) for path in interrupted):
            click.echo(f"huggingface_hub: {warning}", err=True)
    return 0


@command.command(name="verify")
@click.argument("repo_id", required=False)
@_CACHE_OPT
def verify_cmd(repo_id: str | None, cache_dir: Path | None) -> int:
    """Re-hash every blob (of REPO_ID) against its name; exit 1 if any is corrupt."""
    cache = cache_dir or default_cache_dir()
    if repo_id and not any(r.repo_id == repo_id for r in list_repos(cache)):
        raise KuaidiError(
            f"{repo_id} is not in the cache {cache}",
            fix=f"check the id with `kuaidi cache list`, or fetch it: kuaidi get {repo_id}",
        )
    bad = checked = 0
    for check in verify(cache, repo_id):
        checked += 1
        if not check.ok:
            bad += 1
            names = ", ".join(check.paths) or "(no snapshot links to it)"
            again = f"kuaidi get {check.repo_id}"
            if check.repo_type != "model":
                again += f" --repo-type {check.repo_type}"
            one = f" {check.paths[0]}" if len(check.paths) == 1 else ""
            click.echo(
                f"CORRUPT {check.repo_id}: {names} — blob {check.blob.name[:12]}… "
                f"({check.reason}); fix: {again}{one} --force-download"
            )
    click.echo(
        f"{plural(checked, 'blob')} checked, {bad} corrupt",
        err=True,
    )
    return 1 if bad else 0


# rm / prune / move and verify --repair: the cache's lifecycle lives in its own module.
from kuaidi.cli.cache_lifecycle import attach  # noqa: E402

attach(command)
