"""Write a file so a crash leaves the old or the new content, never a torn one.

tmp file in the same directory + fsync + ``os.replace`` + fsync of the directory. The existing
file's mode is kept. ``KUAIDI_TEST_ATOMIC_PAUSE=<stage>`` makes the writer stop at that stage
(the kill tests SIGKILL it there); stages: ``mid-tmp`` (half the bytes in tmp),
``before-replace``, ``after-replace``; ``KUAIDI_TEST_ATOMIC_NAME`` limits it to one file name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path

PAUSE_ENV = "KUAIDI_TEST_ATOMIC_PAUSE"
PAUSED_MARKER_ENV = "KUAIDI_TEST_ATOMIC_MARKER"
PAUSE_NAME_ENV = "KUAIDI_TEST_ATOMIC_NAME"  # only pause when writing a file of this name


def sha256_text(text: str | None) -> str | None:
    """sha256 of the UTF-8 bytes, or None for an absent file."""
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Replace ``path`` with ``text`` atomically, creating parent directories.

    A symlink (dotfiles repos link ~/.bashrc) is written through: its target is replaced and the
    link stays a link.
    """
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    data = text.encode("utf-8")
    tmp = path.with_name(f".{path.name}.kuaidi-tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            half = len(data) // 2
            os.write(fd, data[:half])
            _pause("mid-tmp", path)
            os.write(fd, data[half:])
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        _pause("before-replace", path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    _pause("after-replace", path)


def remove(path: Path) -> None:
    """Delete ``path`` if present, durably."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pause(stage: str, path: Path) -> None:
    if os.environ.get(PAUSE_ENV) != stage:
        return
    if os.environ.get(PAUSE_NAME_ENV, path.name) != path.name:
        return
    marker = os.environ.get(PAUSED_MARKER_ENV)
    if marker:
        Path(marker).write_text(stage)
    time.sleep(60)  # the test kills us here
