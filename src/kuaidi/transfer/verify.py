"""The engine's running hash: :class:`kuaidi.model.digest.Digest` fed while a file arrives."""

from __future__ import annotations

import os
import threading

from kuaidi.model import RemoteFile
from kuaidi.model.digest import BLOCK, Digest


class IncrementalHash:
    """The checks of :func:`kuaidi.model.digest.check_file`, fed while the file still arrives.

    Workers hash the contiguous prefix that is already on disk (read back with ``pread`` from
    the page cache), so when the last range lands only its tail remains to hash: verification
    barely adds to the download time. ``lock`` keeps one hasher per file; a busy worker skips.
    """

    def __init__(self, remote: RemoteFile) -> None:
        self.remote = remote
        self.digest = Digest.of(remote)
        self.pos = 0
        self.lock = threading.Lock()
        self._buf: bytearray | None = None

    def feed(self, fd: int, upto: int) -> None:
        """Hash ``[pos, upto)`` of the open file ``fd``. Call with ``lock`` held."""
        if not self.digest.active:
            self.pos = max(self.pos, upto)
            return
        # One reused buffer: a fresh 1 MiB bytes per read fragments malloc arenas across
        # threads, and RSS would then grow with the file size.
        if self._buf is None:  # no bigger than the file: a run may hold thousands of these
            self._buf = bytearray(max(1, min(BLOCK, self.remote.size)))
        view = memoryview(self._buf)
        while self.pos < upto:
            n = os.preadv(fd, [view[: min(len(view), upto - self.pos)]], self.pos)
            if n <= 0:
                break
            self.digest.update(view[:n])
            self.pos += n

    def problem(self, size: int) -> str | None:
        """None when the hashed bytes match ``remote``, else why not."""
        if size != self.remote.size or self.pos != size:
            return f"size {size} != expected {self.remote.size}"
        return self.digest.problem()
