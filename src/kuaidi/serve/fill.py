"""One upstream fill per blob, and the readers that stream it as its bytes land.

A :class:`Fill` runs kuaidi's segmented engine for one file in its own thread (the engine is
blocking), into the store's partial file and resume journal — so a server killed mid-fill
resumes from the journal on restart. Readers follow the journal: bytes are served once a
journal record covers them (the engine records only what was fdatasync'ed). The last byte of
every response is held back until the blob is verified, and a fill that fails verification
bumps its generation: readers that saw its bytes raise, so their responses are aborted and no
client ever ends with a complete, wrong file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from kuaidi.errors import SourceUnavailable, VerificationFailed
from kuaidi.model import FileJob, RemoteFile
from kuaidi.serve.hooks import Budget, FillObserver
from kuaidi.store.hf_cache import HFCacheTarget
from kuaidi.transfer.engine import Engine
from kuaidi.transfer.job import EngineOptions
from kuaidi.transfer.journal import Journal
from kuaidi.transfer.progress import Events

log = logging.getLogger("kuaidi.serve")

CHUNK = 256 * 1024
POLL = 0.05  # seconds between journal reads while a fill runs


class _FillEvents(Events):
    """The engine's events for one fill: bytes to the observer, a discard to the readers."""

    def __init__(self, fill: Fill) -> None:
        super().__init__()
        self._fill = fill

    def bytes(self, n: int, path: str | None = None) -> None:
        super().bytes(n, path)
        self._fill.observer.progress(n)

    def discard(self, n: int) -> None:
        super().discard(n)
        self._fill.discarded()


class Fill:
    """The one fill of one blob; ``state`` is ``running``, ``ok`` or ``failed``."""

    def __init__(
        self,
        file: RemoteFile,
        job: FileJob,
        target: HFCacheTarget,
        options: EngineOptions,
        observer: FillObserver,
        budget: Budget,
        on_end: Callable[[Fill], None],
    ) -> None:
        self.file, self.job, self.target, self.options = file, job, target, options
        self.observer, self.budget, self._on_end = observer, budget, on_end
        placement = target.placement(file)
        self.part, self.journal, self.blob = placement.part, placement.journal, placement.final
        self.size = file.size
        self.coverage: list[tuple[int, int]] = []
        self.generation = 0
        self.state = "running"
        self.error = ""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()

    def start(self) -> None:
        self._load()  # a resumed fill: what an earlier server journaled is servable at once
        threading.Thread(target=self._run, name=f"fill-{self.file.etag[:12]}", daemon=True).start()
        self._poller = self._loop.create_task(self._poll())

    # -- the engine's thread -----------------------------------------------------------------
    def _run(self) -> None:
        ok, error = False, ""
        try:
            with self.budget.in_use(self.blob):
                report = Engine(self.target, self.options, _FillEvents(self)).run([self.job])
                ok = report.ok
                if not ok:
                    error = report.failed[0].error or "not completed"
        except Exception as exc:  # the fill fails; the server stays up
            error = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            self.observer.finished(ok)
        if ok:
            with contextlib.suppress(Exception):
                self.budget.added(self.size)
        self._loop.call_soon_threadsafe(self._ended, ok, error)

    def discarded(self) -> None:
        """(engine thread) the bytes failed verification and are fetched again."""
        self._loop.call_soon_threadsafe(self._bump)

    # -- the event loop ----------------------------------------------------------------------
    def _bump(self) -> None:
        self.generation += 1
        self.coverage = []
        log.warning("fill of %s failed verification; readers aborted", self.file.path)
        self._notify()

    def _ended(self, ok: bool, error: str) -> None:
        self.state, self.error = ("ok", "") if ok else ("failed", error)
        if not ok:
            log.warning("fill of %s failed: %s", self.file.path, error)
        self._notify()
        self._on_end(self)

    def _load(self) -> None:
        try:
            if self.part.exists():
                self.coverage = Journal.load(self.journal, self.size)
        except (OSError, ValueError):
            pass

    async def _poll(self) -> None:
        while self.state == "running":
            await asyncio.sleep(POLL)
            before = self.coverage
            self._load()
            if self.coverage != before:
                self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, timeout: float = 0.5) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    def frontier(self, pos: int) -> int:
        """The end of the journaled run of bytes holding ``pos`` (``pos`` when none does)."""
        for a, b in self.coverage:
            if a <= pos < b:
                return b
        return pos


def _pread(fd: int, n: int, pos: int) -> bytes:
    data = os.pread(fd, n, pos)
    if not data:
        raise VerificationFailed(f"short read at byte {pos}")
    return data


class BlobFile:
    """A complete, verified blob of the store."""

    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size = path, size

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        stop = self.size if end is None else min(end, self.size)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            pos = start
            while pos < stop:
                data = _pread(fd, min(CHUNK, stop - pos), pos)
                pos += len(data)
                yield data
        finally:
            os.close(fd)


class FillReader:
    """A reader of a blob that is being filled: bytes as the journal covers them."""

    path: Path | None = None

    def __init__(self, fill: Fill) -> None:
        self.fill, self.size = fill, fill.size

    def _open(self) -> int:
        first, second = (
            (self.fill.blob, self.fill.part)
            if self.fill.state == "ok"
            else (self.fill.part, self.fill.blob)
        )
        try:
            return os.open(first, os.O_RDONLY)
        except FileNotFoundError:
            return os.open(second, os.O_RDONLY)  # renamed into blobs/ meanwhile: same inode

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        fill = self.fill
        stop = self.size if end is None else min(end, self.size)
        gen, pos, fd = fill.generation, start, -1
        try:
            while pos < stop:
                if fill.generation != gen:
                    raise VerificationFailed(
                        f"{fill.file.path}: upstream bytes failed verification"
                    )
                if fill.state == "failed":
                    raise SourceUnavailable(f"{fill.file.path}: the fill failed: {fill.error}")
                # The response's last byte leaves only once the blob is verified.
                ready = stop if fill.state == "ok" else min(fill.frontier(pos), stop - 1)
                if ready <= pos:
                    await fill.changed()
                    continue
                if fd < 0:
                    fd = self._open()
                data = _pread(fd, min(CHUNK, ready - pos), pos)
                pos += len(data)
                yield data
        finally:
            if fd >= 0:
                os.close(fd)
