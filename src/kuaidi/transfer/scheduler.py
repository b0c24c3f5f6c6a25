"""The shared pool's brain: which segment a free connection fetches next.

Order of preference for a free connection:
1. a queued segment whose backoff has passed (retries, resumed gaps, split tails);
2. a file not started yet (largest first, so a big file is split early and many small files
   fill the other connections);
3. work stealing: split the largest in-flight segment and take its upper half;
4. wait (for a backoff to pass, a lock held by another process, or a segment to finish).

A file is *probed* by one request at a time until a response proved good (206 at the asked
offset, or a 200 for the whole file) and again after every failure until bytes flow: a file
whose server ignores Range is never fetched twice in parallel, and a failing file costs one
request per retry, not one per connection. Only a segment whose bytes flow is ever split.

The scheduler's own watchdog (:meth:`Scheduler._watch`) ends what the socket timeouts cannot:
an attempt with no sign of life for ``stuck_after`` seconds is replaced (and counted as a
failure of its file), and a file left with no runnable, queued or in-flight work — a state
that must not happen — fails instead of every worker waiting forever.

Everything here runs under one condition variable; network and disk I/O happen in the workers,
and a file's activation (filelock, journal, open, ftruncate) runs with that lock released.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kuaidi.transfer.segment import Segment
from kuaidi.transfer.task import TERMINAL, FileState, FileTask

__all__ = ["TERMINAL", "Activate", "FileState", "FileTask", "Scheduler"]


# In the tail of a run a request asks for about this many seconds of bytes at the segment's
# last rate: one round trip per request is the price of stealing at request boundaries.
TAIL_SECONDS = 3.0


# activate(task) -> "active" | "present" | "busy" | "complete"; may raise to fail the file.
Activate = Callable[[FileTask], str]


class Scheduler:
    """Hands out segments to workers; see the module docstring for the order."""

    def __init__(
        self,
        tasks: list[FileTask],
        activate: Activate,
        *,
        min_split: int,
        stuck_after: float = 120.0,
        max_failures: int = 8,
    ) -> None:
        self.tasks = tasks
        self.stuck_after = stuck_after
        self.max_failures = max_failures
        self._pending = sorted(tasks, key=lambda t: -t.size)
        self._activate = activate
        self._min_split = min_split
        self._queue: list[Segment] = []
        self._cond = threading.Condition()
        self.abort_error: BaseException | None = None
        self.lock_poll = 0.2
        self._activating: set[FileTask] = set()  # being activated, outside the lock

    # -- workers ---------------------------------------------------------------------------
    def next_work(self) -> Segment | FileTask | None:
        """The next segment to fetch, a FileTask to verify, or None when the run is over."""
        with self._cond:
            while True:
                if self.abort_error is not None or all(t.state in TERMINAL for t in self.tasks):
                    self._cond.notify_all()
                    return None
                now = time.monotonic()
                if self._watch(now):  # first: a stuck range must not be stolen from
                    continue
                seg = self._take_queued(now)
                if seg is not None:
                    return seg
                task = self._next_pending(now)
                if task is not None:
                    work = self._activate_unlocked(task)
                    if work is not None and self.abort_error is None:
                        return work
                    continue
                seg = self._steal()
                if seg is not None:
                    return seg
                self._cond.wait(self._wait_time(now))

    def _activate_unlocked(self, task: FileTask) -> Segment | FileTask | None:
        """Activate ``task`` with the lock released (filelock, journal, open, ftruncate take
        disk round trips: under the lock every other worker would wait on them), then take
        its outcome under the lock again. Called and returns with the lock held."""
        self._activating.add(task)
        self._cond.release()
        error: Exception | None = None
        outcome = ""
        try:
            outcome = self._activate(task)
        except Exception as exc:  # the file fails; the run goes on
            error = exc
        finally:
            self._cond.acquire()
            self._activating.discard(task)
            self._cond.notify_all()
        if error is not None:
            self._fail_locked(task, str(error), getattr(error, "kind", "KuaidiError"))
            return None
        return self._activated(task, outcome, time.monotonic())

    @staticmethod
    def _exclusive(task: FileTask) -> bool:
        """One request at a time for this file (see the module docstring)."""
        return not task.proven or task.failures > 0

    @staticmethod
    def _busy(task: FileTask) -> bool:
        return any(s.active and not s.cancelled for s in task.segments)

    def _watch(self, now: float) -> bool:
        """The engine's own watchdog; True when it changed something (look for work again)."""
        changed = False
        for task in self.tasks:
            if task.state != FileState.ACTIVE:
                continue
            for seg in list(task.segments):
                if not seg.active or seg.cancelled or now - seg.beat <= self.stuck_after:
                    continue
                # The worker is stuck past every timeout: leave it, fetch its range anew.
                seg.cancelled = True
                task.segments.remove(seg)
                task.failures += 1
                changed = True
                if task.failures > self.max_failures:
                    self._fail_locked(task, f"no progress for {self.stuck_after:.0f} s (watchdog)")
                    break
                fresh = Segment(task, seg.recorded, seg.end)
                task.segments.append(fresh)
                self._queue.append(fresh)
        live = (
            self._queue
            or self._pending
            or self._activating
            or any(t.state == FileState.VERIFYING for t in self.tasks)
            or any(self._busy(t) for t in self.tasks if t.state == FileState.ACTIVE)
        )
        if not live:
            for task in self.tasks:
                if task.state not in TERMINAL:  # nothing will ever finish it: fail, not hang
                    self._fail_locked(task, "internal error: no work left for this file")
                    changed = True
        if changed:
            self._cond.notify_all()
        return changed

    def _take_queued(self, now: float) -> Segment | None:
        for i, seg in enumerate(self._queue):
            if seg.not_before <= now and not (self._exclusive(seg.file) and self._busy(seg.file)):
                del self._queue[i]
                seg.active = True
                seg.flowing = False
                seg.beat = now
                return seg
        return None

    def _next_pending(self, now: float) -> FileTask | None:
        """The next file to activate (taken off the pending list), or None."""
        for task in self._pending:
            if task.state == FileState.LOCK_WAIT and task.wait_until > now:
                continue
            self._pending.remove(task)
            return task
        return None

    def _activated(self, task: FileTask, outcome: str, now: float) -> Segment | FileTask | None:
        """Apply an activation's outcome; the first piece of work it gives, if any."""
        if outcome == "present":
            task.state = FileState.PRESENT
        elif outcome == "busy":
            task.state = FileState.LOCK_WAIT
            task.wait_until = now + self.lock_poll
            self._pending.append(task)
        elif outcome == "complete" or not task.segments:
            task.state = FileState.VERIFYING
            return task
        else:
            task.state = FileState.ACTIVE
            first, *rest = task.segments
            self._queue.extend(rest)
            first.active, first.beat = True, now
            return first
        return None

    def _steal(self) -> Segment | None:
        """Split the largest flowing segment that can be split (at a request boundary)."""
        candidates: list[Segment] = []
        for task in self.tasks:
            if task.state != FileState.ACTIVE or task.single_stream or self._exclusive(task):
                continue
            candidates += [s for s in task.segments if s.active and s.flowing and not s.cancelled]
        for best in sorted(candidates, key=lambda s: -s.remaining):
            tail = best.split(self._min_split)
            if tail is None:
                continue
            best.file.segments.append(tail)
            tail.active, tail.beat = True, time.monotonic()
            return tail
        return None

    def _wait_time(self, now: float) -> float:
        # A segment held back by its file's one-at-a-time rule waits for a notify, not a time.
        times = [
            s.not_before - now
            for s in self._queue
            if not (self._exclusive(s.file) and self._busy(s.file))
        ]
        times += [t.wait_until - now for t in self._pending if t.state == FileState.LOCK_WAIT]
        return max(0.01, min([1.0, *times]))

    # -- reports from workers --------------------------------------------------------------
    def segment_done(self, seg: Segment) -> bool:
        """A segment finished; True when its file is now complete (caller verifies it)."""
        with self._cond:
            seg.active = False
            task = seg.file
            if seg in task.segments:
                task.segments.remove(seg)
            self._cond.notify_all()
            if task.state == FileState.ACTIVE and not task.segments:
                task.state = FileState.VERIFYING
                return True
            return False

    def flowing(self, seg: Segment) -> None:
        """The segment's response proved good: its file may now take more connections."""
        with self._cond:
            seg.flowing = True
            seg.file.proven = True
            self._cond.notify_all()

    def progressed(self, task: FileTask) -> None:
        """New bytes of ``task`` reached the disk: its failures in a row are over."""
        with self._cond:
            task.failures = task.refusals = 0
            self._cond.notify_all()

    def count_failure(self, task: FileTask) -> int:
        """One more failed attempt of ``task`` without new bytes; returns how many in a row."""
        with self._cond:
            task.failures += 1
            return task.failures

    def requeue(self, seg: Segment, delay: float) -> None:
        """Put a segment back after a failure; it becomes eligible after ``delay`` seconds."""
        with self._cond:
            seg.active = seg.flowing = False
            if not seg.cancelled and seg.file.state == FileState.ACTIVE:
                seg.not_before = time.monotonic() + delay
                # The backoff is the file's: its other queued ranges wait as long.
                for other in self._queue:
                    if other.file is seg.file:
                        other.not_before = max(other.not_before, seg.not_before)
                self._queue.append(seg)
            self._cond.notify_all()

    def next_request(self, seg: Segment) -> int | None:
        """The end of the next request for ``seg`` (from ``seg.pos``), fixed under the lock
        so a steal never cuts inside it; None when nothing is left to ask for. While other
        work waits a request asks for the whole segment (no steal can happen then); in the
        tail it asks for about TAIL_SECONDS of bytes, so idle connections can take over the
        rest at a request boundary."""
        with self._cond:
            if seg.cancelled or seg.pos >= seg.end:
                return None
            want = seg.end - seg.pos
            if not (self._queue or self._pending) and seg.rate > 0 and not seg.file.single_stream:
                want = min(want, max(self._min_split, int(seg.rate * TAIL_SECONDS)))
            seg.req_end = seg.pos + want
            return seg.req_end

    def go_single_stream(self, seg: Segment) -> bool:
        """The server ignored Range: this segment now fetches the whole file from byte 0.
        False when ``seg`` was cancelled meanwhile (another segment took the file over): it
        must not take the file back, or no segment would be left to fetch it."""
        with self._cond:
            task = seg.file
            if seg.cancelled or task.state != FileState.ACTIVE:
                return False
            task.single_stream = True
            for other in task.segments:
                if other is not seg:
                    other.cancelled = True
            self._queue = [s for s in self._queue if s.file is not task]
            task.segments = [seg]
            seg.high = max(seg.high, seg.pos)  # bytes below this are not progress again
            seg.start = seg.pos = seg.recorded = 0
            seg.end = seg.req_end = task.size
            self._cond.notify_all()
            return True

    def restart_file(self, task: FileTask, segments: list[Segment]) -> None:
        """After a verification failure: fetch the file again from scratch."""
        with self._cond:
            task.segments = list(segments)
            task.state = FileState.ACTIVE
            self._queue.extend(segments)
            self._cond.notify_all()

    def finish_file(
        self,
        task: FileTask,
        state: FileState,
        error: str | None = None,
        kind: str = "SourceUnavailable",
    ) -> None:
        with self._cond:
            if state == FileState.FAILED:
                self._fail_locked(task, error or "failed", kind)
            else:
                task.state = state
            self._cond.notify_all()

    def _fail_locked(self, task: FileTask, error: str, kind: str = "SourceUnavailable") -> None:
        task.state = FileState.FAILED
        task.error = error
        task.kind = task.kind or kind
        for seg in task.segments:
            seg.cancelled = True
        self._queue = [s for s in self._queue if s.file is not task]

    def wait_over(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) for the run to end: every file final, or aborted."""
        with self._cond:
            if self.abort_error is None and not all(t.state in TERMINAL for t in self.tasks):
                self._cond.wait(timeout)
            return self.abort_error is not None or all(t.state in TERMINAL for t in self.tasks)

    def abort(self, error: BaseException) -> None:
        """Stop the whole run (e.g. disk full); workers return after their current chunk."""
        with self._cond:
            if self.abort_error is None:
                self.abort_error = error
            for task in self.tasks:
                for seg in task.segments:
                    seg.cancelled = True
            self._cond.notify_all()
