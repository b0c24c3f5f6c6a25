"""``kuaidi get URL [URL…]``: print what :func:`kuaidi.fetch_url.fetch_url` did, one file after
another. stdout: the final paths (for ``$(…)``); stderr: notes, progress, one summary per file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kuaidi.fetch_url import UrlResult, check_names, fetch_url, output_path, parse_target
from kuaidi.transfer.progress import make_progress
from kuaidi.units import format_rate, format_size


def run_urls(
    args: list[str],
    *,
    output: Path | None,
    directory: Path | None,
    sha256: str | None,
    connections: int,
    proxy: str | None,
    network_turbo: str | None,
    release_mirror: str | None,
    stall_timeout: float,
    journal_every: int | None,
    quiet: bool,
    as_json: bool,
) -> int:
    """Fetch every URL; exit 0 only when each one is verified (or already present)."""
    check_names(args, output)
    targets = [parse_target(a) for a in args]  # every bad argument before any byte moves
    if sha256 is not None and len(args) > 1:
        raise click.UsageError("--sha256 checks one file: give one URL")
    mode = "quiet" if (quiet or as_json) else "auto"
    results, ok = [], True
    for arg, target in zip(args, targets, strict=True):
        result = fetch_url(
            arg,
            output_path(target, output, directory),
            sha256=sha256,
            connections=connections,
            proxy=proxy,
            network_turbo=network_turbo,
            release_mirror=release_mirror,
            stall_timeout=stall_timeout,
            journal_every=journal_every,
            events=lambda: make_progress(mode),
        )
        results.append(result)
        ok &= result.ok
        for note in result.notes:
            click.echo(f"kuaidi: note: {note}", err=True)
        if as_json:
            continue
        if not result.ok:
            click.echo(f"kuaidi: error: {result.path.name}: {result.error}", err=True)
            continue
        if not quiet:
            click.echo(_summary(result), err=True)
        click.echo(str(result.path))
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "url": r.url,
                        "path": str(r.path),
                        "status": r.status,
                        "size": r.size,
                        "bytes_fetched": r.bytes_fetched,
                        "verified_by": r.verified_by,
                        "sources": r.served_by,
                        "error": r.error,
                        "kind": r.kind,
                    }
                    for r in results
                ],
                indent=1,
            )
        )
    return 0 if ok else 1


def _summary(result: UrlResult) -> str:
    if result.status == "present":
        return (
            f"ok: {result.path.name} already present ({format_size(result.size)}), nothing fetched"
        )
    speed = result.bytes_fetched / result.seconds if result.seconds > 0 else 0.0
    via = ", ".join(f"{name} {format_size(n)}" for name, n in result.served_by.items())
    return (
        f"ok: {result.path.name} verified by {result.verified_by}; "
        f"{format_size(result.bytes_fetched)} fetched in {result.seconds:.1f}s "
        f"({format_rate(speed)}) from {via or 'the server'}"
    )
