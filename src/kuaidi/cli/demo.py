"""``kuaidi demo``: start the sim, download a model through it with a real client, verify it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from kuaidi.sim.demo import INSTALL_HINT, client_available, run_demo
from kuaidi.sim.sizes import format_size


@click.command(name="demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the downloaded HF cache here (default: a temp dir, removed afterwards).",
)
@click.option(
    "--sim-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the sim's generated content lives (default: the user cache).",
)
def command(workdir: Path | None, sim_cache: Path | None) -> int:
    """Start the sim on cn-link (one stall, one reset), download a demo model, load it offline."""
    if not client_available():
        click.echo(f"kuaidi demo needs huggingface_hub as the client: {INSTALL_HINT}")
        return 1
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="kuaidi-demo-")) if own else workdir
    assert root is not None
    root.mkdir(parents=True, exist_ok=True)
    try:
        report = run_demo(root, say=click.echo, sim_cache=sim_cache)
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
    faults = ", ".join(f"{kind} ×{n}" for kind, n in report.faults.items() if n) or "none"
    if report.ok:
        click.echo(f"loaded offline: {report.loaded}")
    wasted = max(0, report.cdn_bytes - report.size)
    click.echo(
        f"summary: {report.files} files, {format_size(report.size)} in {report.seconds:.1f} s, "
        f"sha256 verified {report.verified}/{report.files}; faults hit: {faults}; "
        f"CDN sent {format_size(report.cdn_bytes)} ({format_size(wasted)} re-sent after faults)"
    )
    if report.mismatched:
        click.echo("MISMATCH: " + ", ".join(report.mismatched))
    return 0 if report.ok else 1
