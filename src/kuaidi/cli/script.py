"""``kuaidi script``: a standalone bash script doing the same set-up, for a box without kuaidi."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kuaidi.atomic import write_atomic
from kuaidi.cli.setup import mirror_options, options_from
from kuaidi.setup import resolve
from kuaidi.setup.script import render_script


@click.command(name="script")
@mirror_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (mode 755) instead of stdout.",
)
def command(output: Path | None, **params: Any) -> None:
    """Emit setup-china-mirrors.sh: kuaidi script > setup-china-mirrors.sh && bash $_"""
    options = options_from(params)
    text = render_script(options)
    if options.platform is None and resolve(options).platform.name == "bare":
        click.echo(
            "warning: this machine looks like a bare box, so the script sets no data-disk caches "
            "and no platform proxy; for the GPU box it is meant for, pass --platform NAME "
            "(e.g. --platform autodl)",
            err=True,
        )
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text, mode=0o755)
    click.echo(f"wrote {output}", err=True)
