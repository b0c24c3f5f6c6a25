"""``kuaidi script``: a standalone bash script doing the same set-up, for a box without kuaidi."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kuaidi.atomic import write_atomic
from kuaidi.cli.setup import mirror_options, options_from
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
    text = render_script(options_from(params))
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text, mode=0o755)
    click.echo(f"wrote {output}", err=True)
