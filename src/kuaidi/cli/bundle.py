"""``kuaidi bundle create / install / verify``: wheels and weights for a box with no network."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from kuaidi.units import format_size

_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
_CACHE_OPT = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="HF cache (default HF_HUB_CACHE or $HF_HOME/hub).",
)


@click.group(name="bundle")
def command() -> None:
    """One self-describing bundle of wheels and weights for a box with no network."""


def _say(as_json: bool) -> Callable[[str], None]:
    return (lambda _: None) if as_json else (lambda line: click.echo(line, err=True))


@command.command(name="create")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--model", "models", multiple=True, help="REPO[@REV] (repeatable).")
@click.option("--dataset", "datasets", multiple=True, help="REPO[@REV] (repeatable).")
@click.option(
    "-r", "--requirements", type=click.Path(dir_okay=False, path_type=Path), help="Wheels for this."
)
@click.option("--python", "python", help="Target's Python version, e.g. 3.11.")
@click.option("--platform", help="Target's platform tag, e.g. manylinux2014_x86_64.")
@click.option("--index-url", help="PyPI mirror (default: pip's config, PIP_INDEX_URL).")
@click.option("--endpoint", help="HF mirror (default HF_ENDPOINT, else hf-mirror.com).")
@click.option("--tar", is_flag=True, help="Write one tar file (symlinks kept) instead of a dir.")
@click.option("--no-kuaidi", is_flag=True, help="Leave kuaidi's own wheel out.")
@_CACHE_OPT
@_JSON
def create_cmd(
    out: Path,
    models: tuple[str, ...],
    datasets: tuple[str, ...],
    requirements: Path | None,
    python: str | None,
    platform: str | None,
    index_url: str | None,
    endpoint: str | None,
    tar: bool,
    no_kuaidi: bool,
    cache_dir: Path | None,
    as_json: bool,
) -> int:
    """Build OUT: repos in the HF cache layout, wheels for the target, a manifest. Resumable."""
    from kuaidi.bundle.create import create

    summary = create(
        out,
        models=models,
        datasets=datasets,
        requirements=requirements,
        python=python,
        platform=platform,
        tar=tar,
        with_kuaidi=not no_kuaidi,
        cache_dir=cache_dir,
        index_url=index_url,
        endpoint=endpoint,
        say=_say(as_json),
    )
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo(f"{out}: {summary['files']} files, {format_size(summary['bytes'])}")
        click.echo(f"on the target: kuaidi bundle install {out}")
    return 0


@command.command(name="install")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--python", "python", help="Interpreter whose env gets the wheels (default: this).")
@click.option("--no-wheels", is_flag=True, help="Only the repos.")
@click.option("--dry-run", is_flag=True, help="Verify and say what would go where; write nothing.")
@_CACHE_OPT
@_JSON
def install_cmd(
    bundle: Path,
    python: str | None,
    no_wheels: bool,
    dry_run: bool,
    cache_dir: Path | None,
    as_json: bool,
) -> int:
    """Verify BUNDLE, then install its repos into the HF cache and its wheels (no network)."""
    from kuaidi.bundle.install import install

    summary = install(
        bundle,
        cache_dir=cache_dir,
        python=python,
        wheels=not no_wheels,
        dry_run=dry_run,
        say=_say(as_json),
    )
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return 0
    verb = "would install" if dry_run else "installed"
    for r in summary["repos"]:
        click.echo(f"{verb} {r['repo_type']} {r['repo_id']}@{r['commit'][:8]}")
    if not dry_run:
        click.echo(
            f"{summary['blobs_copied']} blobs copied, {summary['blobs_present']} already there, "
            f"{len(summary.get('wheels', []))} wheels; cache: {summary['cache_dir']}"
        )
    return 0


@command.command(name="verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@_JSON
def verify_cmd(bundle: Path, as_json: bool) -> int:
    """Re-hash every file of BUNDLE against its manifest; exit 1 naming each bad file."""
    from kuaidi.bundle.install import verify

    manifest, problems = verify(bundle)
    if as_json:
        click.echo(json.dumps({"files": len(manifest.files), "problems": problems}, indent=1))
    else:
        for p in problems:
            click.echo(f"BAD {p}")
        click.echo(
            f"{len(manifest.files)} files ({format_size(manifest.total)}) checked, "
            f"{len(problems)} bad",
            err=True,
        )
    return 1 if problems else 0
