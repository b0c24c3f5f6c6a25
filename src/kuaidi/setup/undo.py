"""``kuaidi setup --undo``: every file back to its bytes before kuaidi first wrote it.

A file the user edited since kuaidi wrote it is not restored (all or nothing) unless ``force``;
then the edited version is kept next to the undo state first. ``dry_run`` computes the same
steps (with their diffs) and writes nothing — not even the lock file.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from kuaidi.atomic import read_text, remove, write_atomic
from kuaidi.errors import KuaidiError
from kuaidi.setup.options import SetupOptions, home_and_environ, state_dir_for
from kuaidi.setup.state import Manifest, UndoState, file_sha256
from kuaidi.setup.sweep import sweep_leftovers


@dataclass(frozen=True)
class UndoResult:
    """What undo did (or, dry, would do): files restored, files removed (kuaidi created them),
    edited copies kept, temp files of killed runs swept; ``diff`` shows every change."""

    restored: tuple[Path, ...] = ()
    removed: tuple[Path, ...] = ()
    kept_edits: tuple[Path, ...] = ()
    swept: tuple[Path, ...] = ()
    diff: str = ""
    dry_run: bool = False

    @property
    def nothing(self) -> bool:
        """True when there was nothing to undo."""
        return not (self.restored or self.removed)


def undo(
    home: Path | None = None,
    force: bool = False,
    environ: Mapping[str, str] | None = None,
    *,
    dry_run: bool = False,
) -> UndoResult:
    """Restore every file kuaidi setup wrote under ``home``.

    For example::

        undo(Path("/tmp/h"))
        # UndoResult(restored=(...pip.conf,), removed=(...env.sh,), kept_edits=())
    """
    home, env = home_and_environ(SetupOptions(home=home, environ=environ))
    state = UndoState(state_dir_for(home, env))
    if not state.exists():
        swept = () if dry_run else tuple(sweep_leftovers(home, env, state.directory))
        return UndoResult(swept=swept, dry_run=dry_run)
    if dry_run:
        return _steps(state, state.load(), force, dry_run=True)
    with FileLock(str(state.lock_path), timeout=30):
        manifest = state.load()
        swept = tuple(sweep_leftovers(home, env, state.directory, manifest.files))
        result = _steps(state, manifest, force, dry_run=False)
    state.clear()
    for directory in sorted(manifest.created_dirs, key=len, reverse=True):
        with contextlib.suppress(OSError):  # not empty: something else lives there now
            Path(directory).rmdir()
    return UndoResult(result.restored, result.removed, result.kept_edits, tuple(swept), result.diff)


def _diff(path: Path, old: str | None, new: str | None) -> str:
    lines = difflib.unified_diff(
        [] if old is None else old.splitlines(keepends=True),
        [] if new is None else new.splitlines(keepends=True),
        fromfile=str(path) if old is not None else "/dev/null",
        tofile=str(path) if new is not None else "/dev/null",
    )
    return "".join(
        ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in lines
    )


def _steps(state: UndoState, manifest: Manifest, force: bool, *, dry_run: bool) -> UndoResult:
    edited = []
    for key, rec in manifest.files.items():
        current = file_sha256(Path(key))
        if current not in (rec.written_sha256, rec.pending_sha256, rec.pristine_sha256):
            edited.append(key)
    if edited and not force:
        raise KuaidiError(
            f"{', '.join(edited)} changed since kuaidi setup wrote it, so undo would lose "
            "those edits; nothing was restored",
            fix="re-run with --force to restore anyway (the edited copies are kept)",
        )
    kept: list[Path] = []
    if edited:
        backup_dir = state.directory.parent / f"edited-{time.strftime('%Y%m%d-%H%M%S')}"
        for key in edited:
            if not Path(key).is_file():
                continue
            target = backup_dir / f"{len(kept):03d}-{Path(key).name}"
            if not dry_run:
                write_atomic(target, Path(key).read_bytes(), 0o600)
            kept.append(target)
    restored, removed, diffs = [], [], []
    for key, rec in manifest.files.items():
        path = Path(key)
        original = state.pristine_text(rec)
        try:
            current = read_text(path)
        except UnicodeDecodeError:
            current = "<binary>\n"
        if original is None:
            if path.exists():
                diffs.append(_diff(path, current, None))
                if not dry_run:
                    remove(path)
                removed.append(path)
        elif file_sha256(path) != rec.pristine_sha256:
            diffs.append(_diff(path, current, original))
            if not dry_run:
                write_atomic(path, original, mode=rec.mode)
            restored.append(path)
        elif rec.mode is not None and (path.stat().st_mode & 0o7777) != rec.mode:
            diffs.append(f"mode of {path}: {path.stat().st_mode & 0o7777:o} -> {rec.mode:o}\n")
            if not dry_run:
                os.chmod(path, rec.mode)
    return UndoResult(
        tuple(restored), tuple(removed), tuple(kept), (), "".join(diffs), dry_run=dry_run
    )
