"""One blob's file I/O while it is fetched: the partial file, its journal, its running hash.

:class:`FileIO` is the only owner of the descriptor and the journal; its one lock guards them,
the journaled ranges and the count of workers inside a write, so the scheduler's lock and the
routing lock never cover a disk call. The lock is held for bookkeeping only, never across a
``pwrite`` or ``fdatasync``: a worker *enters* (the fd cannot be closed under it while it
writes), writes, and *leaves*; the last one out closes an fd whose file was released meanwhile.
Flushes are group-committed: while one worker's fdatasync runs, the others queue their ranges
and go on reading; that worker's next sync journals them all, so the journal keeps its ~1 MiB
grain per connection without one disk flush per MiB, and nobody waits for another's flush.

For example::

    io = FileIO(placement, remote)
    done = io.open()                 # journaled ranges of an earlier run
    if io.enter(): io.write(data, 0); io.flush(0, len(data)); io.leave()
    io.close()
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from typing import TYPE_CHECKING

from kuaidi.errors import DiskFull
from kuaidi.model import Placement, RemoteFile
from kuaidi.model.digest import check_file
from kuaidi.transfer.journal import Journal, merge
from kuaidi.transfer.verify import IncrementalHash

if TYPE_CHECKING:
    from filelock import BaseFileLock

MiB = 1 << 20
HASH_STEP = 8 * MiB  # hash the on-disk prefix in steps of at least this
SYNC_ROUNDS = 8  # syncs one worker runs for a file's queue before handing it on


class FileIO:
    """The partial file of one blob (see the module docstring). Thread-safe."""

    def __init__(self, placement: Placement, remote: RemoteFile) -> None:
        self.placement = placement
        self.remote = remote
        self.fd = -1
        self.journal: Journal | None = None
        self.lock: BaseFileLock | None = None  # the blob's filelock while held
        self.hasher: IncrementalHash | None = None
        self.done: list[tuple[int, int]] = []  # journaled ranges, merged
        self._users = 0  # workers inside a write: the fd is closed only when this drops to 0
        self._close_pending = False
        self._guard = threading.Lock()
        # Group commit: one fdatasync in flight per file; it covers every range queued before
        # it started (fdatasync syncs the whole file), so connections on one file share syncs.
        self._sync = threading.Lock()
        self._queued: list[tuple[int, int]] = []  # written, waiting for the running sync
        self._syncing = False  # a worker is syncing and journaling the queue

    @property
    def size(self) -> int:
        return self.remote.size

    # -- life ------------------------------------------------------------------------------
    def open(self, *, fresh: bool = False) -> list[tuple[int, int]]:
        """Open (sparse, full size) the partial file and its journal; the journaled ranges."""
        part, size = self.placement.part, self.size
        part.parent.mkdir(parents=True, exist_ok=True)
        existed = part.exists() and not fresh
        done = Journal.load(self.placement.journal, size) if existed else []
        flags = os.O_RDWR | os.O_CREAT | (os.O_TRUNC if fresh else 0)
        fd = os.open(part, flags, 0o644)
        if os.fstat(fd).st_size != size:
            os.ftruncate(fd, size)  # sparse: only journaled ranges count as present
        journal = Journal.open(self.placement.journal, size, fresh=not existed)
        with self._guard:
            self.fd, self.journal, self.done = fd, journal, list(done)
            self._close_pending = False
            self.hasher = IncrementalHash(self.remote)
        return list(done)

    def close(self) -> None:
        """Close the journal, and the fd once no worker writes to it."""
        with self._guard:
            if self.journal is not None:
                self.journal.close()
                self.journal = None
            if self._users > 0:
                self._close_pending = True  # the last worker out closes the fd
            elif self.fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(self.fd)
                self.fd = -1

    def unlock(self) -> None:
        if self.lock is not None:
            with contextlib.suppress(Exception):
                self.lock.release()
            self.lock = None

    # -- writing ---------------------------------------------------------------------------
    def enter(self) -> bool:
        """A worker starts writing; False when the file was released meanwhile."""
        with self._guard:
            if self.fd < 0 or self._close_pending:
                return False
            self._users += 1
            return True

    def leave(self) -> None:
        with self._guard:
            self._users -= 1
            if self._users == 0 and self._close_pending and self.fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(self.fd)
                self.fd = -1
                self._close_pending = False

    def write(self, data: memoryview, offset: int) -> None:
        """``pwrite`` all of ``data`` at ``offset`` (between :meth:`enter` and :meth:`leave`)."""
        fd = self.fd
        try:
            while data:
                n = os.pwrite(fd, data, offset)
                data, offset = data[n:], offset + n
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(
                    f"disk full while writing {self.remote.path} into {self.placement.part.parent}",
                    fix="free space (or choose another --cache-dir/--local-dir) and run the same "
                    "command again; the partial data is kept and resumes",
                ) from exc
            raise

    def flush(self, start: int, end: int) -> bool:
        """Make ``[start, end)`` durable, then journal it (never the other way round), and
        hash what became contiguous. False when the file was released meanwhile.

        Group commit: while another worker's sync runs, the range is queued and this returns
        at once (True: that worker syncs and journals it next, before it leaves); a worker
        never waits for someone else's disk flush, and its connection keeps reading."""
        if end <= start or self.journal is None or self.fd < 0:
            return False
        with self._sync:
            self._queued.append((start, end))
            if self._syncing:
                return True
            self._syncing = True
        ok = True
        try:
            for rounds in range(SYNC_ROUNDS + 1):
                with self._sync:
                    # After SYNC_ROUNDS the next flusher takes over, so this connection does
                    # not sit unread (and trip the speed floor) while others keep queueing.
                    batch = self._queued if rounds < SYNC_ROUNDS else []
                    if not batch:
                        self._syncing = False
                        break
                    self._queued = []
                ok = self._commit(batch) and ok
        except BaseException:
            with self._sync:
                self._syncing = False
            raise
        if not ok:
            return False  # released meanwhile (failed/aborted): progress just isn't kept
        self._hash_behind()
        return True

    def _prefix(self) -> int:
        with self._guard:
            return self.done[0][1] if self.done and self.done[0][0] == 0 else 0

    def _hash_behind(self) -> None:
        """Hash what is contiguous on disk, so verifying at the end is quick — on a thread of
        its own: when the first ranges of a file all land together, hundreds of MiB become
        contiguous at once, and hashing them on the flushing worker left its connection idle
        for ~0.7 s (the last request of a 1 GiB run started that much late)."""
        hasher = self.hasher
        if hasher is None or self._prefix() - hasher.pos < HASH_STEP:
            return
        if not hasher.lock.acquire(False):
            return  # the hashing thread is running; it loops until it has caught up
        if not self.enter():
            hasher.lock.release()
            return
        threading.Thread(target=self._hash_until_caught_up, args=(hasher,), daemon=True).start()

    def _hash_until_caught_up(self, hasher: IncrementalHash) -> None:
        try:
            while (prefix := self._prefix()) > hasher.pos:
                hasher.feed(self.fd, prefix)
        except OSError:
            pass  # released meanwhile: verify() rehashes from scratch or the run resumes
        finally:
            self.leave()  # before the lock: verify() takes the lock, then closes the fd
            hasher.lock.release()

    def _commit(self, batch: list[tuple[int, int]]) -> bool:
        """fdatasync, then journal ``batch`` (the leader of a group commit, no lock held)."""
        journal, fd = self.journal, self.fd
        if journal is None or fd < 0:
            return False
        try:
            os.fdatasync(fd)
            journal.extend(batch)
        except (OSError, ValueError):
            return False
        with self._guard:
            self.done = merge([*self.done, *batch])
        return True

    # -- the end ---------------------------------------------------------------------------
    def verify(self) -> str | None:
        """Finish the hash, make the file durable and close it; None when it matches."""
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        problem: str | None = None
        hasher = self.hasher
        hashed = self.fd >= 0 and hasher is not None
        if hashed and hasher is not None:
            with hasher.lock:  # finish the running hash: only the tail is left
                hasher.feed(self.fd, self.size)
                problem = hasher.problem(os.fstat(self.fd).st_size)
        if self.fd >= 0:
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = -1
        if not hashed:
            problem = check_file(self.placement.part, self.remote)
        self.hasher = None  # done with it (its buffer): a run may hold thousands of files
        return problem

    def discard(self) -> None:
        """Remove the partial file and its journal (their bytes cannot be trusted)."""
        for p in (self.placement.part, self.placement.journal):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
