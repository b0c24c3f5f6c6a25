"""Small atomic file operations shared by the cache and local-dir layouts."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

# Temporary names carry the writer's pid, so a later run can tell a live writer's temp file
# from one a kill -9 left behind (see sweep_stale).
_TEMP = re.compile(r"^\..+\.(\d+)\.kuaidi-(?:link|tmp)$")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a tmp file in the same dir + fsync + os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=f".{os.getpid()}.kuaidi-tmp"
    )
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def symlink_atomic(target: str, link: Path) -> None:
    """Point ``link`` at ``target`` (relative), replacing whatever was there, atomically."""
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.parent / f".{link.name}.{os.getpid()}.kuaidi-link"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def sweep_stale(root: Path) -> list[Path]:
    """Remove the temp files and links under ``root`` whose writer is gone (a kill -9 between
    creating one and renaming it into place leaves it behind); a live writer's are kept.
    Returns what was removed."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for path in root.rglob(".*.kuaidi-*"):
        match = _TEMP.match(path.name)
        if match is None or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename inside it survives a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
