"""Before the first request: can kuaidi write where the files go, and do they fit?

Both checks touch nothing (safe for ``--dry-run``): they look at the folder, or at its nearest
existing ancestor when it does not exist yet, which is where ``mkdir -p`` would start.

For example::

    check_writable(Path("/root/autodl-tmp/hf"), "--cache-dir")
    check_room(Path("/root/autodl-tmp/hf"), 12 * GiB, "--cache-dir")
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from kuaidi.errors import DiskFull, PathError
from kuaidi.model import RemoteFile, Target
from kuaidi.units import format_size

__all__ = ["check_room", "check_writable", "existing_ancestor", "free_bytes", "missing_bytes"]


def existing_ancestor(path: Path, what: str = "the path") -> Path:
    """``path`` itself if it exists, else the nearest ancestor that does; PathError when a
    component on the way is a regular file (``mkdir`` would fail with "Not a directory")."""
    path = Path(os.path.abspath(path))
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
        if candidate.exists() or candidate.is_symlink():
            raise PathError(
                f"{path} cannot be created: {candidate} is a file, not a folder",
                fix=f"point {what} at another folder, or move that file away",
            )
    return Path(path.anchor)  # pragma: no cover - the root always exists


def check_writable(path: Path, what: str) -> Path:
    """PathError naming ``path`` unless kuaidi could create and write files in it.

    ``what`` names where the path came from (``--cache-dir``, ``HF_HUB_CACHE``…) for the fix.
    Returns the existing folder the check looked at.
    """
    base = existing_ancestor(path, what)
    if not os.access(base, os.W_OK | os.X_OK):
        where = "" if base == Path(os.path.abspath(path)) else f" (its folder {base})"
        raise PathError(
            f"{path}{where} is not writable",
            fix=f"point {what} at a writable folder, e.g. on the data disk",
        )
    return base


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged write may still use on the disk holding ``path`` (the seam tests
    monkeypatch to simulate a full disk)."""
    return shutil.disk_usage(existing_ancestor(path)).free


def check_room(path: Path, missing: int, what: str) -> None:
    """DiskFull, with the numbers, when ``missing`` bytes cannot fit where ``path`` is."""
    free = free_bytes(path)
    if missing > free:
        raise DiskFull(
            f"not enough space in {path}: {format_size(missing)} still to download, "
            f"{format_size(free)} free",
            fix=f"free {format_size(missing - free)} there, or pass {what} on a bigger disk",
        )


def missing_bytes(target: Target, files: Sequence[RemoteFile]) -> int:
    """Bytes still to write for ``files`` (each blob once; a partial's allocated bytes count
    as written)."""
    need: dict[str, int] = {}
    for f in files:
        if target.is_present(f):
            continue
        part = target.placement(f).part
        try:
            have = min(f.size, part.stat().st_blocks * 512)
        except OSError:
            have = 0
        need[str(target.placement(f).final)] = f.size - have
    return sum(need.values())
