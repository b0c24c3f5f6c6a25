"""Work out every file change ``kuaidi setup`` would make, without touching anything.

For example::

    p = plan(SetupOptions(home=Path("/tmp/h"), root=Path("/tmp/fake"), only=frozenset({"pip"})))
    [c.path.name for c in p.changes]
    # ['pip.conf']
    print(p.changes[0].diff)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from kuaidi.atomic import read_text
from kuaidi.errors import KuaidiError
from kuaidi.setup import conda, envfile, git, jupyter, pip, shellrc, uv
from kuaidi.setup.caches import LeftCache, left_behind
from kuaidi.setup.options import Context, SetupOptions, resolve
from kuaidi.setup.parsers import refuse

WRITERS: dict[str, ModuleType] = {
    "pip": pip,
    "uv": uv,
    "conda": conda,
    "env": envfile,
    "shell": shellrc,
    "jupyter": jupyter,
    "git": git,
}


@dataclass(frozen=True)
class Change:
    """One file: its content now (None = absent) and what kuaidi would write."""

    target: str  # pip | uv | conda | env | shell
    path: Path
    old: str | None
    new: str

    @property
    def diff(self) -> str:
        """Unified diff old → new (``/dev/null`` for a new file)."""
        before = [] if self.old is None else self.old.splitlines(keepends=True)
        after = self.new.splitlines(keepends=True)
        lines = difflib.unified_diff(
            before,
            after,
            fromfile="/dev/null" if self.old is None else str(self.path),
            tofile=str(self.path),
        )
        return "".join(
            ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in lines
        )


@dataclass(frozen=True)
class Plan:
    """What ``apply`` would do: ``changes`` (only files that differ), plus files already right."""

    context: Context
    changes: tuple[Change, ...]
    unchanged: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    left_caches: tuple[LeftCache, ...] = ()  # existing caches the new variables point away from
    # cache variables ``kuaidi cache move`` set: apply records them, later setups keep them
    moved_caches: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        """True when every file is already as kuaidi would write it (and nothing to record)."""
        return not self.changes and not self.moved_caches

    @property
    def diff(self) -> str:
        """All unified diffs, file after file."""
        return "".join(c.diff for c in self.changes)


def plan(options: SetupOptions) -> Plan:
    """Read every target file and compute its new content. Raises ``KuaidiError`` (and so writes
    nothing, ever) if any existing file is malformed."""
    ctx = resolve(options)
    changes: list[Change] = []
    unchanged: list[Path] = []
    warnings: list[str] = list(ctx.platform.warnings)
    if options.data_disk is not None:
        # The user chose the disk: what detection said about finding one no longer applies.
        warnings = [w for w in warnings if "data disk" not in w]
    for target in ctx.targets:
        writer = WRITERS[target]
        warnings += writer.warnings(ctx)
        for path in writer.targets(ctx):
            old = _read(path)
            new = _render(writer, ctx, path, old)
            if new == old:
                unchanged.append(path)
            else:
                changes.append(Change(target, path, old, new))
    left: list[LeftCache] = []
    if "env" in ctx.targets and ctx.data_disk is not None:
        new_dirs = envfile.exports(ctx)
        left = left_behind(ctx.home, ctx.environ, new_dirs)
        if "HF_TOKEN_PATH" in new_dirs:
            warnings.append(
                f"your saved Hugging Face login {new_dirs['HF_TOKEN_PATH']} stays where it is; "
                "the env file points HF_TOKEN_PATH at it"
            )
    return Plan(ctx, tuple(changes), tuple(unchanged), tuple(dict.fromkeys(warnings)), tuple(left))


def _render(writer: ModuleType, ctx: Context, path: Path, old: str | None) -> str:
    """The writer's new text; a file the writer cannot understand is a ``ConfigError`` naming
    it, never a traceback (each writer refuses the cases it knows with the line; this is the
    backstop for the ones it does not)."""
    try:
        return writer.render(ctx, path, old)
    except KuaidiError:
        raise
    except Exception as exc:
        raise refuse(
            path, None, f"kuaidi cannot edit this file ({type(exc).__name__}: {exc})"
        ) from exc


def _read(path: Path) -> str | None:
    try:
        return read_text(path)
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise refuse(path, line, "not UTF-8 text") from exc
    except OSError as exc:
        raise KuaidiError(f"cannot read {path}: {exc.strerror}", fix="check the path") from exc
