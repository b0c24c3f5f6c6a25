"""The one way kuaidi replaces a file: a crash leaves the old content or the new, never a torn one.

Used by ``kuaidi setup`` (config files, its undo record) and by the store (refs, metadata,
snapshot links). A neutral module: it imports nothing from kuaidi.

One temp-name rule, for files and links alike::

    .<name>.<random>.<pid>.kuaidi-tmp      (a file being written)
    .<name>.<pid>.kuaidi-link               (a symlink about to be renamed into place)

in the destination's own directory, so ``os.replace`` is atomic. The writer's pid is in the name
so :func:`sweep_dir` / :func:`sweep_stale` can tell a live writer's temp file from one a kill -9
left behind, and remove only the latter. ``kuaidi script``'s bash writer uses the same rule.

Test hooks: ``KUAIDI_TEST_ATOMIC_PAUSE=<stage>`` stops the writer at that stage (the kill tests
SIGKILL it there): ``mid-tmp`` (half the bytes in tmp), ``before-replace``, ``after-replace``;
``KUAIDI_TEST_ATOMIC_NAME`` limits it to one file name; ``KUAIDI_TEST_ATOMIC_MARKER`` is a file
written when the pause is reached.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import time
from pathlib import Path

PAUSE_ENV = "KUAIDI_TEST_ATOMIC_PAUSE"
PAUSED_MARKER_ENV = "KUAIDI_TEST_ATOMIC_MARKER"
PAUSE_NAME_ENV = "KUAIDI_TEST_ATOMIC_NAME"  # only pause when writing a file of this name

TEMP_NAME = re.compile(r"^\..+\.(\d+)\.kuaidi-(?:link|tmp)$")


def temp_name(path: Path, kind: str = "tmp") -> Path:
    """The temp path for writing ``path`` by this process (the module doc's rule)."""
    if kind == "link":
        return path.with_name(f".{path.name}.{os.getpid()}.kuaidi-link")
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.{os.getpid()}.kuaidi-tmp")


def sha256_text(text: str | None) -> str | None:
    """sha256 of the UTF-8 bytes, or None for an absent file."""
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None


def write_atomic(path: Path, text: str | bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``text`` atomically, creating parent directories.

    The existing file's mode is kept (``mode`` overrides; a new file gets 0644). A symlink
    (dotfiles repos link ~/.bashrc) is written through: its target is replaced and the link stays
    a link.
    """
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    data = text.encode("utf-8") if isinstance(text, str) else text
    tmp = temp_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
    fsync_dir(path.parent)
    _pause("after-replace", path)


def symlink_atomic(target: str, link: Path) -> None:
    """Point ``link`` at ``target`` (relative), replacing whatever was there, atomically."""
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(link, "link")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def remove(path: Path) -> None:
    """Delete ``path`` if present, durably."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename inside it survives a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def is_stale_temp(path: Path) -> bool:
    """True for a temp file or link of the rule above whose writer is no longer running."""
    match = TEMP_NAME.match(path.name)
    return match is not None and not _alive(int(match.group(1)))


def sweep_dir(directory: Path) -> list[Path]:
    """Remove the dead writers' temp files directly in ``directory`` (not below it)."""
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for path in directory.iterdir():
            if is_stale_temp(path):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    return removed


def sweep_stale(root: Path) -> list[Path]:
    """Remove the dead writers' temp files and links anywhere under ``root`` (a kill -9 between
    creating one and renaming it into place leaves it behind); a live writer's are kept.
    Returns what was removed."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for path in root.rglob(".*.kuaidi-*"):
        if is_stale_temp(path):
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


def _pause(stage: str, path: Path) -> None:
    if os.environ.get(PAUSE_ENV) != stage:
        return
    if os.environ.get(PAUSE_NAME_ENV, path.name) != path.name:
        return
    marker = os.environ.get(PAUSED_MARKER_ENV)
    if marker:
        Path(marker).write_text(stage)
    time.sleep(60)  # the test kills us here


__all__ = [
    "TEMP_NAME",
    "fsync_dir",
    "is_stale_temp",
    "read_text",
    "remove",
    "sha256_text",
    "sweep_dir",
    "sweep_stale",
    "symlink_atomic",
    "temp_name",
    "write_atomic",
]
