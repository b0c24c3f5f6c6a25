"""The store's names for kuaidi's one atomic-write helper (:mod:`kuaidi.atomic`)."""

from __future__ import annotations

from pathlib import Path

from kuaidi.atomic import fsync_dir, sweep_stale, symlink_atomic, write_atomic


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a tmp file in the same dir + fsync + os.replace."""
    write_atomic(path, text)


__all__ = ["fsync_dir", "sweep_stale", "symlink_atomic", "write_text_atomic"]
