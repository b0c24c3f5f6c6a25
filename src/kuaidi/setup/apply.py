"""Carry out a plan: pristine copy first, then an atomic write, file by file.

A crash at any point leaves each file old or new (atomic.py) and the manifest saying so, so
``kuaidi setup --undo`` still restores everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from kuaidi.atomic import sha256_text, write_atomic
from kuaidi.errors import KuaidiError
from kuaidi.setup.plan import Plan
from kuaidi.setup.state import UndoState, file_sha256
from kuaidi.setup.sweep import sweep_leftovers


@dataclass(frozen=True)
class ApplyResult:
    """The files written, in order, and the temp files of killed runs swept first."""

    written: tuple[Path, ...]
    swept: tuple[Path, ...] = ()


def apply(plan: Plan) -> ApplyResult:
    """Write every change of ``plan``; refuse (writing nothing) if a file changed since planning.

    For example::

        apply(plan(SetupOptions(home=tmp_home, root=fake_root)))
        # ApplyResult(written=(PosixPath('.../pip.conf'), ...))
    """
    ctx = plan.context
    state = UndoState(ctx.state_dir)
    manifest = state.load()
    files: list[str | Path] = [*manifest.files, *(c.path for c in plan.changes), *plan.unchanged]
    if plan.empty:
        if not state.directory.is_dir():
            return ApplyResult(
                (), tuple(sweep_leftovers(ctx.home, ctx.environ, state.directory, files))
            )
        with FileLock(str(state.lock_path), timeout=30):
            swept = sweep_leftovers(ctx.home, ctx.environ, state.directory, files)
        return ApplyResult((), tuple(swept))
    state.prepare(manifest)
    written: list[Path] = []
    with FileLock(str(state.lock_path), timeout=30):
        swept = sweep_leftovers(ctx.home, ctx.environ, state.directory, files)
        stale = [c.path for c in plan.changes if file_sha256(c.path) != sha256_text(c.old)]
        if stale:
            raise KuaidiError(
                f"{', '.join(map(str, stale))} changed since the plan was made",
                fix="run kuaidi setup again",
            )
        for change in plan.changes:
            state.remember(manifest, change.path, change.old)
            record = manifest.files[str(change.path)]
            # Saved before the write: a crash after the replace still leaves a known file.
            record.pending_sha256 = sha256_text(change.new)
            state.save(manifest)
            write_atomic(change.path, change.new)
            record.written_sha256, record.pending_sha256 = record.pending_sha256, None
            state.save(manifest)
            written.append(change.path)
        if plan.moved_caches:
            manifest.moved_caches.update(plan.moved_caches)
            state.save(manifest)
    return ApplyResult(tuple(written), tuple(swept))
