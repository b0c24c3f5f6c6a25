"""``kuaidi get``: parse, call :func:`kuaidi.get.download`, print. Exit 0 only when verified."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kuaidi.cli.get_url import run_urls
from kuaidi.cli.ladder_options import PROXY, ladder_options, source_options
from kuaidi.fetch_url import is_url_target
from kuaidi.get import Result, download, engine_options, hub_offline
from kuaidi.sources.runplan import Ladder
from kuaidi.transfer.job import FileOutcome
from kuaidi.transfer.progress import make_progress
from kuaidi.units import format_rate, format_size, parse_size, plural


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
@ladder_options
@click.option(
    "--connections",
    "--max-workers",
    "-n",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Connections shared by all files (--max-workers: hf's name for it).",
)
@click.option(
    "--stall-timeout",
    type=click.FloatRange(0.1),
    default=20.0,
    show_default=True,
    help="Seconds without a byte before a connection is dropped and its range requeued.",
)
@PROXY
@click.option(
    "--max-retries",
    type=click.IntRange(0, 100),
    default=8,
    show_default=True,
    help="Consecutive failures without progress before a file is given up.",
)
@click.option(
    "--min-speed",
    metavar="SIZE",
    help="Bytes/s a connection must keep up over --stall-timeout, e.g. 512KiB or 1MiB; slower "
    "counts as a stall and moves the file down the ladder (default 4KiB).",
)
@click.option(
    "--force-download",
    is_flag=True,
    help="Fetch every selected file again, even if already present; a file is replaced only "
    "once the new bytes are verified (e.g. after `kuaidi cache verify` found one corrupt).",
)
@click.option(
    "--journal-every",
    type=click.IntRange(65536),
    hidden=True,
    help="Bytes between resume-journal records per connection (tests).",
)
@click.option("--dry-run", is_flag=True, help="List files and total size; download nothing.")
@click.option(
    "--explain",
    is_flag=True,
    help="Show which source serves which file and why, and how each "
    "source is reached; after the run, which source(s) served each file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="URL: save as PATH."
)
@click.option(
    "--dir", "url_dir", type=click.Path(file_okay=False, path_type=Path), help="URLs: save in DIR."
)
@click.option("--sha256", metavar="HEX", help="URL: the file's expected sha256.")
@click.option(
    "--release-mirror", metavar="NAME|URL", help="GitHub release mirror (default nju; 'none')."
)
def command(
    repo: str,
    files: tuple[str, ...],
    repo_type: str,
    revision: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    cache_dir: Path | None,
    local_dir: Path | None,
    endpoints: tuple[str, ...],
    modelscope_endpoint: str | None,
    origin: str | None,
    origin_hosts: tuple[str, ...],
    network_turbo: str | None,
    source: str | None,
    allow_modelscope_only: bool,
    token: str | None,
    connections: int,
    stall_timeout: float,
    proxy: str | None,
    max_retries: int,
    min_speed: str | None,
    force_download: bool,
    journal_every: int | None,
    dry_run: bool,
    explain: bool,
    as_json: bool,
    quiet: bool,
    output: Path | None = None,
    url_dir: Path | None = None,
    sha256: str | None = None,
    release_mirror: str | None = None,
) -> int:
    """Download REPO (org/name or hf://[datasets/]org/name[@rev][/path]) into the HF cache:
    segmented over a shared pool of connections, resumable across runs, every file verified.

    Sources, per file: the HF mirrors, then ModelScope (same bytes under a mapped id), then the
    origin through the proxy (directly only when you name it as --endpoint/HF_ENDPOINT)."""
    if is_url_target(repo):  # kuaidi get URL [URL…]: plain files, same engine
        return run_urls(
            [repo, *files], output=output, directory=url_dir, sha256=sha256,
            connections=connections, proxy=proxy, network_turbo=network_turbo,
            release_mirror=release_mirror, stall_timeout=stall_timeout,
            journal_every=journal_every, quiet=quiet, as_json=as_json,
        )  # fmt: skip
    mode = "quiet" if (quiet or as_json or dry_run) else "auto"

    def show_plan(ladder: Ladder) -> None:
        # With --dry-run the plan is the output (stdout); otherwise stdout keeps only the path.
        if explain and not as_json:
            click.echo(ladder.explain(), err=not dry_run)

    result = download(
        repo,
        files,
        repo_type=repo_type,
        revision=revision,
        include=include,
        exclude=exclude,
        cache_dir=cache_dir,
        local_dir=local_dir,
        endpoint=list(endpoints) or None,
        token=token,
        sources=source_options(
            modelscope_endpoint=modelscope_endpoint,
            origin=origin,
            origin_hosts=origin_hosts,
            source=source,
            allow_modelscope_only=allow_modelscope_only,
            proxy=proxy,
            network_turbo=network_turbo,
        ),
        engine=engine_options(
            connections=connections,
            stall_timeout=stall_timeout,
            max_retries=max_retries,
            min_speed=None if min_speed is None else parse_size(min_speed, what="--min-speed"),
            journal_every=journal_every,
        ),
        force_download=force_download,
        dry_run=dry_run,
        events=make_progress(mode),
        on_plan=show_plan,
    )
    for note in result.notes:  # an offline fallback, a pattern that matched nothing, …
        click.echo(f"kuaidi: note: {note}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=1))
        return 0 if result.ok else 1
    if dry_run and explain:
        return 0
    if dry_run:
        for f in result.files:
            click.echo(f"{format_size(f.size):>10}  {f.path}")
        click.echo(
            f"{plural(len(result.files), 'file')}, {format_size(result.bytes_total)} "
            f"({result.bytes_total:,} bytes; {result.repo_id}@{result.commit[:12]})"
        )
        return 0
    if explain:
        for line in served(result.files):
            click.echo(line, err=True)
    for f in result.failed:
        click.echo(f"kuaidi: error: {f.path}: {f.error}", err=True)
    if not quiet:
        click.echo(summary(result), err=True)
    # The path on stdout, like `hf download`, so `$(kuaidi get …)` works in scripts.
    if result.ok:
        click.echo(result.path)
    sys.stdout.flush()
    return 0 if result.ok else 1


def summary(result: Result) -> str:
    """The last stderr line: what was fetched and hash-verified, what was only found present
    (by size — not re-hashed), what failed.

    ``ok: 5/5 files verified, 2.9 MiB fetched in 0.3s (9.1 MiB/s)``;
    ``ok: 5 files already present (checked by size; --force-download re-fetches), nothing
    fetched``."""
    total, fetched = len(result.files), result.count("fetched")
    present = result.count("present")
    recheck = "(checked by size; --force-download re-fetches)"
    head = "ok" if result.ok else "INCOMPLETE"
    if fetched or result.failed or not present:
        speed = result.bytes_fetched / result.seconds if result.seconds > 0 else 0.0
        noun = "file" if total == 1 else "files"
        text = (
            f"{head}: {fetched}/{total} {noun} verified, {format_size(result.bytes_fetched)} "
            f"fetched in {result.seconds:.1f}s ({format_rate(speed)})"
        )
        if present:
            text += f"; {present} already present {recheck}"
        if result.failed:
            text += f"; {len(result.failed)} failed"
    else:
        text = f"{head}: {plural(present, 'file')} already present {recheck}, nothing fetched"
    if result.offline:
        text += " — from the cache, no source was asked" if hub_offline() else " — from the cache"
    return f"{text}, {plural(result.retries, 'retry', 'retries')}" if result.retries else text


def served(files: list[FileOutcome]) -> list[str]:
    """Per file, the source(s) that actually sent its bytes (``--explain`` after the run)."""
    lines = ["served:"]
    width = max((len(f.path) for f in files), default=0)
    for f in files:
        if f.status == "present":
            how = "already in the cache"
        elif f.sources:
            how = ", ".join(f"{name} {n:,} B" for name, n in f.sources.items())
        else:
            how = "(source not reported)" if f.status != "failed" else f"FAILED: {f.error}"
        lines.append(f"  {f.path:<{width}}  {how}")
    return lines
