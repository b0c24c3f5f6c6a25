"""``kuaidi setup --undo``: every file back to its bytes before kuaidi first wrote it.

A file the user edited since kuaidi wrote it is not restored (all or nothing) unless ``force``;
then the edited version is kept next to the undo state first.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from kuaidi.errors import KuaidiError
from kuaidi.setup.atomic import remove, write_atomic
from kuaidi.setup.options import SetupOptions, home_and_environ, state_dir_for
from kuaidi.setup.state import UndoState, file_sha256


@dataclass(frozen=True)
class UndoResult:
    """What undo did: files restored, files removed (kuaidi created them), edited copies kept."""

    restored: tuple[Path, ...] = ()
    removed: tuple[Path, ...] = ()
    kept_edits: tuple[Path, ...] = ()

    @property
    def nothing(self) -> bool:
        """True when there was nothing to undo."""
        return not (self.restored or self.removed)


def undo(
    home: Path | None = None, force: bool = False, environ: Mapping[str, str] | None = None
) -> UndoResult:
    """Restore every file kuaidi setup wrote under ``home``.

    >>> undo(Path("/tmp/h"))            # doctest: +SKIP
    UndoResult(restored=(...pip.conf,), removed=(...env.sh,), kept_edits=())
    """
    state = UndoState(state_dir_for(*home_and_environ(SetupOptions(home=home, environ=environ))))
    if not state.exists():
        return UndoResult()
    with FileLock(str(state.lock_path), timeout=30):
        manifest = state.load()
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
                write_atomic(target, Path(key).read_bytes().decode("utf-8", "replace"), 0o600)
                kept.append(target)
        restored, removed = [], []
        for key, rec in manifest.files.items():
            path = Path(key)
            original = state.pristine_text(rec)
            if original is None:
                if path.exists():
                    remove(path)
                    removed.append(path)
            elif file_sha256(path) != rec.pristine_sha256:
                write_atomic(path, original, mode=rec.mode)
                restored.append(path)
            elif rec.mode is not None and (path.stat().st_mode & 0o7777) != rec.mode:
                os.chmod(path, rec.mode)
    state.clear()
    for directory in sorted(manifest.created_dirs, key=len, reverse=True):
        with contextlib.suppress(OSError):  # not empty: something else lives there now
            Path(directory).rmdir()
    return UndoResult(tuple(restored), tuple(removed), tuple(kept))
