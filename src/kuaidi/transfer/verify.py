"""Integrity: size always, sha256 for LFS files, git blob sha1 for small files.

>>> git_blob_sha1(b"Hello, World!")
'b45ef6fec89518d314f546fd6c3025367b721684'
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from kuaidi.model import RemoteFile

_BLOCK = 1 << 20


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of ``data`` (what HF lists as ``oid`` / ``ETag`` for small files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_file(path: Path, remote: RemoteFile) -> str | None:
    """Hash ``path`` once, streaming; return None when it matches ``remote``, else why not."""
    size = path.stat().st_size
    if size != remote.size:
        return f"size {size} != expected {remote.size}"
    want_sha256 = remote.sha256 if (remote.lfs or not remote.git_sha1) else None
    want_sha1 = remote.git_sha1 if not remote.lfs else None
    if not want_sha256 and not want_sha1:
        return None  # nothing to check beyond size (a listing without hashes)
    h256 = hashlib.sha256() if want_sha256 else None
    h1 = hashlib.sha1(b"blob %d\0" % size) if want_sha1 else None
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(_BLOCK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            if h256 is not None:
                h256.update(view[:n])
            if h1 is not None:
                h1.update(view[:n])
    if h256 is not None and want_sha256 and h256.hexdigest() != want_sha256:
        return f"sha256 {h256.hexdigest()[:12]}… != expected {want_sha256[:12]}…"
    if h1 is not None and want_sha1 and h1.hexdigest() != want_sha1:
        return f"git sha1 {h1.hexdigest()[:12]}… != expected {want_sha1[:12]}…"
    return None


class IncrementalHash:
    """The same checks as :func:`check_file`, fed in order while the file is still arriving.

    Workers hash the contiguous prefix that is already on disk (read back with ``pread`` from
    the page cache), so when the last range lands only its tail remains to hash: verification
    barely adds to the download time. ``lock`` keeps one hasher per file; a busy worker skips.
    """

    def __init__(self, remote: RemoteFile) -> None:
        self.remote = remote
        self.want_sha256 = remote.sha256 if (remote.lfs or not remote.git_sha1) else None
        self.want_sha1 = remote.git_sha1 if not remote.lfs else None
        self.h256 = hashlib.sha256() if self.want_sha256 else None
        self.h1 = hashlib.sha1(b"blob %d\0" % remote.size) if self.want_sha1 else None
        self.pos = 0
        self.lock = threading.Lock()
        self._buf: bytearray | None = None

    def feed(self, fd: int, upto: int) -> None:
        """Hash ``[pos, upto)`` of the open file ``fd``. Call with ``lock`` held."""
        if self.h256 is None and self.h1 is None:
            self.pos = max(self.pos, upto)
            return
        # One reused buffer: a fresh 1 MiB bytes per read fragments malloc arenas across
        # threads, and RSS would then grow with the file size.
        if self._buf is None:  # no bigger than the file: a run may hold thousands of these
            self._buf = bytearray(max(1, min(_BLOCK, self.remote.size)))
        view = memoryview(self._buf)
        while self.pos < upto:
            n = os.preadv(fd, [view[: min(len(view), upto - self.pos)]], self.pos)
            if n <= 0:
                break
            if self.h256 is not None:
                self.h256.update(view[:n])
            if self.h1 is not None:
                self.h1.update(view[:n])
            self.pos += n

    def problem(self, size: int) -> str | None:
        """None when the hashed bytes match ``remote``, else why not."""
        if size != self.remote.size or self.pos != size:
            return f"size {size} != expected {self.remote.size}"
        if self.h256 is not None and self.h256.hexdigest() != self.want_sha256:
            got, want = self.h256.hexdigest(), self.want_sha256 or ""
            return f"sha256 {got[:12]}… != expected {want[:12]}…"
        if self.h1 is not None and self.h1.hexdigest() != self.want_sha1:
            got, want = self.h1.hexdigest(), self.want_sha1 or ""
            return f"git sha1 {got[:12]}… != expected {want[:12]}…"
        return None
