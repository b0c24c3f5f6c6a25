"""``kuaidi env``: print the exports for ``eval "$(kuaidi env)"`` (this shell only, no files)."""

from __future__ import annotations

from typing import Any

import click

from kuaidi.cli.setup import mirror_options, options_from
from kuaidi.setup import resolve
from kuaidi.setup.envfile import render_fish, render_sh


@click.command(name="env")
@mirror_options
@click.option(
    "--shell",
    type=click.Choice(["bash", "zsh", "fish"]),
    default="bash",
    show_default=True,
    help="Syntax of the output.",
)
def command(shell: str, **params: Any) -> None:
    """Print exports (HF, caches, PIP_INDEX_URL, UV_DEFAULT_INDEX) and turbo_on / turbo_off."""
    ctx = resolve(options_from(params))
    notes = {
        "conda": "conda reads no variable for its channels: kuaidi setup --only conda writes "
        "~/.condarc",
        "shell": "kuaidi env writes no rc line: kuaidi setup --only shell does",
    }
    for target, note in notes.items():
        if params.get("only") and target in ctx.targets:
            click.echo(f"# note: {note}", err=True)
    if shell == "fish":
        click.echo(render_fish(ctx, with_indexes=True), nl=False)
    else:
        click.echo(render_sh(ctx, with_indexes=True), nl=False)
