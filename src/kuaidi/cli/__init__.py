"""The thin command line: parse, call the core, print.

Each verb lives in its own module (``kuaidi/cli/<verb>.py``) exposing a click command named
``command``; modules are imported only when their verb runs, so ``kuaidi --help`` stays fast and a
broken optional dependency in one verb never breaks the others.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import sys
import warnings
from typing import Any

import click

from kuaidi import __version__
from kuaidi.errors import Interrupted, KuaidiError, KuaidiWarning

# verb -> (module, one-line help). Adding a verb = one line here + one module.
VERBS: dict[str, tuple[str, str]] = {
    "get": ("kuaidi.cli.get", "Download a Hugging Face repo: segmented, resumable, verified."),
    "setup": ("kuaidi.cli.setup", "Configure pip, uv, conda, HF, ModelScope mirrors and caches."),
    "env": ("kuaidi.cli.env", 'Print the exports for eval "$(kuaidi env)".'),
    "script": ("kuaidi.cli.script", "Emit a standalone setup-china-mirrors.sh."),
    "platform": ("kuaidi.cli.platform", "Show which GPU-cloud platform this box is."),
    "doctor": ("kuaidi.cli.doctor", "Find the known traps and say how to fix each."),
    "probe": ("kuaidi.cli.probe", "Measure mirrors and pick the best."),
    "cache": ("kuaidi.cli.cache", "Inspect the Hugging Face cache kuaidi writes."),
    "bundle": ("kuaidi.cli.bundle", "Wheels and weights in one bundle for a box with no network."),
    "serve": ("kuaidi.cli.serve", "A LAN pull-through mirror: each model crosses the border once."),
    "sim": ("kuaidi.cli.sim", "Run the simulated China network on loopback."),
    "demo": ("kuaidi.cli.demo", "Start the sim and download a model through it."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = VERBS.get(cmd_name)
        if entry is None:
            return None
        module_name, help_text = entry
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise

            @click.command(name=cmd_name, help=f"{help_text} (not built yet)")
            def _missing() -> None:
                raise KuaidiError(f"'kuaidi {cmd_name}' is not available in this build")

            return _missing
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help lists verbs without importing them.
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, help_text) in VERBS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kuaidi")
def cli() -> None:
    """kuaidi (快递): code, packages and model weights onto GPU boxes in mainland China."""


INTERRUPTED = "kuaidi: interrupted; rerun the same command to resume"


def _sigterm_as_interrupt() -> None:
    """SIGTERM (``kill``, a scheduler ending the job) stops a run like Ctrl-C does: workers
    journal what reached the disk, the partials stay, one line says how to resume."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError, OSError):  # not the main thread, or no such signal
        signal.signal(signal.SIGTERM, handler)


def _show_warning(message: Any, category: Any, *args: Any, **kw: Any) -> None:
    """A :class:`KuaidiWarning` as one ``kuaidi: warning:`` line; others as Python shows them."""
    if isinstance(category, type) and issubclass(category, KuaidiWarning):
        click.echo(f"kuaidi: warning: {' '.join(str(message).split())}", err=True)
    else:
        _python_show_warning(message, category, *args, **kw)


_python_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI, turning KuaidiError into a one-line error."""
    _sigterm_as_interrupt()
    warnings.showwarning = _show_warning
    try:
        # Commands may return an int exit status (e.g. 1 when some files failed).
        rv = cli.main(args=argv, prog_name="kuaidi", standalone_mode=False)
    except (Interrupted, KeyboardInterrupt, click.exceptions.Abort):
        click.echo(INTERRUPTED, err=True)
        return Interrupted.exit_code
    except KuaidiError as exc:
        click.echo(f"kuaidi: error: {exc.one_line()}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
