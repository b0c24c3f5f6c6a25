"""``kuaidi get``: parse, call :func:`kuaidi.get.download`, print. Exit 0 only when verified."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kuaidi.get import download
from kuaidi.transfer.progress import make_progress


@click.command(name="get")
@click.argument("repo")
@click.argument("files", nargs=-1)
@click.option(
    "--repo-type", type=click.Choice(["model", "dataset"]), default="model", show_default=True
)
@click.option("--revision", metavar="REV", help="Branch, tag or commit (default main).")
@click.option(
    "--include",
    multiple=True,
    metavar="GLOB",
    help="Only paths matching (anchored; 'dir/' = everything under dir). Repeatable.",
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip matching paths. Repeatable.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="HF cache (default HF_HUB_CACHE or $HF_HOME/hub).",
)
@click.option(
    "--local-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write real files here instead of the HF cache.",
)
@click.option("--endpoint", metavar="URL", help="HF-protocol endpoint (default HF_ENDPOINT).")
@click.option(
    "--token", metavar="T", help="Access token (default HF_TOKEN); sent only to the endpoint host."
)
@click.option(
    "--connections",
    "-n",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Connections shared by all files.",
)
@click.option(
    "--stall-timeout",
    type=click.FloatRange(0.1),
    default=20.0,
    show_default=True,
    help="Seconds without a byte before a connection is dropped and its range requeued.",
)
@click.option(
    "--proxy",
    metavar="URL",
    help="Proxy for origin hosts only (default KUAIDI_PROXY or AutoDL's network_turbo); "
    "mirrors are always reached directly.",
)
@click.option(
    "--max-retries",
    type=click.IntRange(0, 100),
    default=8,
    show_default=True,
    help="Consecutive failures without progress before a file is given up.",
)
@click.option(
    "--journal-every",
    type=click.IntRange(65536),
    hidden=True,
    help="Bytes between resume-journal records per connection (tests).",
)
@click.option("--dry-run", is_flag=True, help="List files and total size; download nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def command(
    repo: str,
    files: tuple[str, ...],
    repo_type: str,
    revision: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    cache_dir: Path | None,
    local_dir: Path | None,
    endpoint: str | None,
    token: str | None,
    connections: int,
    stall_timeout: float,
    proxy: str | None,
    max_retries: int,
    journal_every: int | None,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
) -> int:
    """Download REPO (org/name or hf://[datasets/]org/name[@rev][/path]) into the HF cache:
    segmented over a shared pool of connections, resumable across runs, every file verified."""
    mode = "quiet" if (quiet or as_json or dry_run) else "auto"
    result = download(
        repo,
        files,
        repo_type=repo_type,
        revision=revision,
        include=include,
        exclude=exclude,
        cache_dir=cache_dir,
        local_dir=local_dir,
        endpoint=endpoint,
        token=token,
        connections=connections,
        stall_timeout=stall_timeout,
        max_retries=max_retries,
        proxy=proxy,
        journal_every=journal_every,
        dry_run=dry_run,
        events=make_progress(mode),
    )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=1))
        return 0 if result.ok else 1
    if dry_run:
        for f in result.files:
            click.echo(f"{f.size:>14,}  {f.path}")
        click.echo(
            f"{len(result.files)} files, {result.bytes_total:,} bytes "
            f"({result.repo_id}@{result.commit[:12]})"
        )
        return 0
    for f in result.failed:
        click.echo(f"kuaidi: error: {f.path}: {f.error}", err=True)
    if not quiet:
        verified = len(result.files) - len(result.failed)
        mb = result.bytes_fetched / 1e6
        speed = mb / result.seconds if result.seconds > 0 else 0.0
        click.echo(
            f"{'ok' if result.ok else 'INCOMPLETE'}: {verified}/{len(result.files)} files "
            f"verified, {mb:.1f} MB fetched in {result.seconds:.1f}s ({speed:.1f} MB/s), "
            f"{result.retries} retries",
            err=True,
        )
    # The path on stdout, like `hf download`, so `$(kuaidi get …)` works in scripts.
    if result.ok:
        click.echo(result.path)
    sys.stdout.flush()
    return 0 if result.ok else 1
