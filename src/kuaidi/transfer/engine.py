"""Run a download plan: a pool of connections shared by every file, resumable and verified.

For example::

    report = Engine(target, EngineOptions(connections=8)).run(jobs)
    report.ok, report.bytes_fetched

Each worker thread takes work from the :class:`~kuaidi.transfer.scheduler.Scheduler`, streams
the segment with ``pwrite`` into the blob's partial file, records finished ranges in the journal
(after fdatasync), and the worker that finishes a file's last segment verifies and installs it.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time

import httpx
from filelock import FileLock, Timeout

from kuaidi.errors import Interrupted, KuaidiError
from kuaidi.model import FileJob, Route, Target
from kuaidi.transfer.fetch import Expired, Fatal, FetchError, is_partial, open_segment
from kuaidi.transfer.job import EngineOptions, FileOutcome, FileStatus, RunReport
from kuaidi.transfer.journal import Journal, gaps
from kuaidi.transfer.progress import Events
from kuaidi.transfer.routing import Routing
from kuaidi.transfer.scheduler import FileState, FileTask, Scheduler
from kuaidi.transfer.segment import ALIGN, Segment
from kuaidi.transfer.watchdog import SpeedFloor

__all__ = ["Engine", "EngineOptions", "FileJob", "FileOutcome", "RunReport"]

MiB = 1 << 20
# 403s in a row from a download URL its resolve had just handed out: that CDN refuses us (an
# expired signature is only possible for a URL remembered from an earlier request).
MAX_REFUSALS = 3


class Engine:
    """Deliver files into a :class:`~kuaidi.store.target.Target`."""

    def __init__(self, target: Target, options: EngineOptions, events: Events | None = None):
        self.target = target
        self.opts = options
        self.events = events or Events()
        self._rng = random.Random(options.seed)
        self._rng_lock = threading.Lock()
        self.routing = Routing(
            share_min=options.share_min, route_retries=options.route_retries, share=options.share
        )

    # -- plan ------------------------------------------------------------------------------
    def _tasks(self, jobs: list[FileJob]) -> list[FileTask]:
        by_final: dict[str, FileTask] = {}
        for job in jobs:
            placement = self.target.placement(job.file)
            key = str(placement.final)
            if key in by_final:
                by_final[key].files.append(job.file)  # same blob under another path
            else:
                by_final[key] = FileTask([job.file], placement, list(job.routes))
        return list(by_final.values())

    def run(self, jobs: list[FileJob]) -> RunReport:
        """Fetch every job; raise KuaidiError only for run-wide failures (e.g. disk full)."""
        tasks = self._tasks(jobs)
        self.events.files_total = len(tasks)  # an attribute: start()'s signature is shared
        self.events.start(sum(t.size for t in tasks), 0)
        kept = sum(self._on_disk(t) for t in tasks)
        if kept:
            self.events.resuming(kept)
        # Past every socket timeout (connect, read = stall) and the longest server-asked wait.
        stuck_after = 2 * self.opts.stall_timeout + 30.0 + self.opts.policy.backoff.retry_after_cap
        sched = Scheduler(
            tasks,
            self._activate,
            min_split=self.opts.min_split,
            stuck_after=stuck_after,
            max_failures=self.opts.max_retries,
        )
        self._sched = sched
        n = max(1, min(self.opts.connections, 256))
        threads = [
            threading.Thread(target=self._worker, name=f"kuaidi-conn-{i}", daemon=True)
            for i in range(n)
        ]
        try:
            for th in threads:
                th.start()
            try:
                # Wait for the run, not for each thread: a worker stuck in a read past the
                # watchdog is left behind (daemon; the fd stays open until it lets go).
                while not sched.wait_over(0.5):
                    pass
                for th in threads:
                    th.join(timeout=1.0)
            except BaseException as exc:  # Ctrl-C: let workers journal their progress first
                sched.abort(exc)
                for th in threads:
                    th.join(timeout=5)
                if isinstance(exc, KeyboardInterrupt):
                    raise Interrupted(
                        "interrupted", fix="rerun the same command to resume"
                    ) from exc
                raise
        finally:
            for task in tasks:
                self._release(task)
            self.events.close()
        if sched.abort_error is not None:
            raise sched.abort_error
        outcomes = []
        ended: dict[FileState, FileStatus] = {
            FileState.DONE: "fetched",
            FileState.PRESENT: "present",
        }
        for t in tasks:
            status = ended.get(t.state, "failed")
            error = t.error if status == "failed" else None
            if status == "failed" and error is None:
                error = "not completed"
            kind = (t.kind or "SourceUnavailable") if status == "failed" else None
            for f in t.files:
                outcomes.append(
                    FileOutcome(
                        f.path, f.size, status, t.fetched, t.retries, error, dict(t.served), kind
                    )
                )
        return RunReport(outcomes, sum(t.fetched for t in tasks), sum(t.retries for t in tasks))

    def _on_disk(self, task: FileTask) -> int:
        """Bytes an earlier run left journaled for ``task`` (0 when it is already present)."""
        if not task.placement.part.exists() or self.target.is_present(task.remote):
            return 0
        return sum(b - a for a, b in Journal.load(task.placement.journal, task.size))

    # -- activation (outside the scheduler's lock) -----------------------------------------
    def _activate(self, task: FileTask) -> str:
        if self._present(task):
            return "present"
        lock = FileLock(str(task.placement.lock), thread_local=False)
        task.placement.lock.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return "busy"
        task.io.lock = lock
        # Another process may have installed it while we waited for the lock.
        if self._present(task):
            self._release(task)
            return "present"
        done = task.io.open()
        task.resumed = sum(b - a for a, b in done)
        self.events.credit(task.resumed)
        self.events.file_started(task.remote.path, task.size, task.resumed)
        task.segments = self._pieces(task, gaps(done, task.size))
        return "active" if task.segments else "complete"

    def _pieces(self, task: FileTask, ranges: list[tuple[int, int]]) -> list[Segment]:
        """Cut the missing ranges into pieces handed out in file order: the verified prefix
        then grows steadily (hashed as it lands) and stealing only has to cover the tail.
        A file too small to give every connection a full piece is cut into one piece per
        connection: a steal cannot cut a request in flight, so the fan-out happens here."""
        missing = sum(b - a for a, b in ranges)
        share = -(-missing // max(1, self.opts.connections))
        share += -share % ALIGN
        piece = min(self.opts.piece, max(self.opts.min_split, share))
        out = []
        for a, b in ranges:
            while b - a >= 2 * piece:
                out.append(Segment(task, a, a + piece))
                a += piece
            out.append(Segment(task, a, b))
        return out

    def _present(self, task: FileTask) -> bool:
        if not all(self.target.is_present(f) for f in task.files):
            return False
        for f in task.files:
            self.target.link(f)
        self.events.credit(task.size)
        return True

    def _release(self, task: FileTask) -> None:
        task.io.close()
        task.io.unlock()

    # -- workers ---------------------------------------------------------------------------
    def _worker(self) -> None:
        sched = self._sched
        while (work := sched.next_work()) is not None:
            try:
                if isinstance(work, FileTask):
                    self._verify(work)
                else:
                    self._run_segment(work)
            except KuaidiError as exc:
                sched.abort(exc)
            except Exception as exc:  # a bug must not hang the run: fail that file
                task = work if isinstance(work, FileTask) else work.file
                if task.state not in (FileState.FAILED, FileState.DONE, FileState.PRESENT):
                    self._fail(task, f"internal error: {type(exc).__name__}: {exc}", "KuaidiError")

    def _fail(self, task: FileTask, error: str, kind: str) -> None:
        self._release(task)
        self._sched.finish_file(task, FileState.FAILED, error, kind)
        self.events.file_finished(task.remote.path, False, error)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        with self._rng_lock:
            return self.opts.policy.backoff.delay(attempt, retry_after, rng=self._rng)

    def _run_segment(self, seg: Segment) -> None:
        task = seg.file
        if not task.io.enter():
            return  # the file failed or the run stopped meanwhile
        try:
            self._run_segment_inner(seg)
        finally:
            task.io.leave()

    def _run_segment_inner(self, seg: Segment) -> None:
        task = seg.file
        idx = self.routing.pick(task)
        route = task.routes[idx]
        before, t0 = seg.pos, time.monotonic()
        seg.beat = seg.flushed = t0
        self.events.connection(+1)
        try:
            if seg.pos < seg.end:
                self._stream(seg, route, idx)
        except FetchError as exc:  # before KuaidiError: a FetchError is one, but not run-wide
            self._flush(seg)
            self._failed(seg, idx, exc)
            return
        except KuaidiError:
            self._flush(seg)  # keep what reached the disk (disk full): the rerun resumes it
            raise
        finally:
            self.events.connection(-1)
            self.routing.release(task, idx, seg.pos - before, time.monotonic() - t0)
        if seg.cancelled or not (seg.start == 0 and seg.end == task.size):
            # A file fetched in one piece is verified and installed next (with its own fsync):
            # journaling its one range would be moot, and for small files it was most of the cost.
            self._flush(seg)
        if seg.cancelled:
            return
        if self._sched.segment_done(seg):
            self._verify(task)

    def _failed(self, seg: Segment, idx: int, exc: FetchError) -> None:
        """Retry on the same route, move the file down the ladder, or fail it. Failures are
        the file's (every segment of it together), reset only by new bytes."""
        task = seg.file
        message = str(exc)
        if isinstance(exc, Expired) and not exc.fresh:
            # A remembered signed URL expired: resolve again at once. Not a failure; the fresh
            # URL's answer decides (a refusal then is counted and backed off).
            task.retries += 1
            self.events.retry(task.remote.path, message)
            self._sched.requeue(seg, 0.0)
            return
        failures = self._sched.count_failure(task)
        if isinstance(exc, Expired):
            task.refusals += 1
            if task.refusals >= MAX_REFUSALS:
                exc = Fatal(f"{message}, {task.refusals} times right after resolving it")
                message = str(exc)
        outcome = self.routing.failed(
            task,
            idx,
            message,
            fatal=not exc.retryable,
            failures=failures,
            limit=self.opts.max_retries,
        )
        if outcome == "exhausted":
            why = Routing.summary(task) if len(task.routes) > 1 else message
            if exc.retryable:
                n = task.retries
                why = f"{why} (after {n} {'retry' if n == 1 else 'retries'})"
            self._fail(task, why, exc.kind if not exc.retryable else "SourceUnavailable")
            return
        task.retries += 1
        if outcome == "moved":
            nxt = Routing.alive(task)
            to = task.routes[nxt[0]].source if nxt else "?"
            self.events.retry(task.remote.path, f"{task.routes[idx].source}: {message}; now {to}")
            task.failures = task.refusals = 0  # the next route starts with its own budget
            self._sched.requeue(seg, 0.0)
            return
        self.events.retry(task.remote.path, message)
        self._sched.requeue(seg, self._delay(failures, exc.retry_after))

    def _stream(self, seg: Segment, route: Route, idx: int) -> None:
        """Fetch the segment as bounded requests on one connection, one after another: a
        steal shortens the segment at a request's end, so every response is read to its end
        and the connection is reused (see :mod:`kuaidi.transfer.segment`)."""
        sched = self._sched
        while seg.pos < seg.end and not seg.cancelled and sched.abort_error is None:
            req_end = sched.next_request(seg)
            if req_end is None:
                return
            self._request(seg, route, idx, req_end)

    def _request(self, seg: Segment, route: Route, idx: int, req_end: int) -> None:
        task = seg.file
        sched = self._sched

        def beat() -> None:
            seg.beat = time.monotonic()

        def stop() -> bool:
            return seg.cancelled or sched.abort_error is not None

        start, t0 = seg.pos, time.monotonic()
        with open_segment(
            route, seg.pos, req_end, gate=self.opts.policy.gate, stop=stop, beat=beat
        ) as (resp, offset):
            if not is_partial(resp):
                # The server ignored Range: one stream from byte 0 for this file, no stealing,
                # on this route only.
                if (offset != seg.pos or seg.end != task.size) and not sched.go_single_stream(seg):
                    return  # cancelled meanwhile: another segment streams the file
                task.single_stream = True
                self.routing.pin(task, idx)
                start = 0
            sched.flowing(seg)
            new = False  # this attempt wrote bytes past the furthest any attempt reached
            floor = SpeedFloor(self.opts.min_speed, self.opts.stall_timeout)
            flush_bytes, flush_seconds = self.opts.flush_bytes, self.opts.flush_seconds
            length = resp.headers.get("content-length", "")
            body_end = offset + int(length) if length.isdigit() else -1
            try:
                # The transport's own pieces (about 64 KiB), not re-joined into bigger ones:
                # fewer copies and allocations that malloc can reuse, so memory stays flat.
                chunks = resp.iter_raw()
                for chunk in chunks:
                    if seg.cancelled:
                        return
                    now = seg.beat = time.monotonic()
                    # req_end only moves for a single stream (set before the first byte);
                    # end is below it only when the range was taken away (hedge, restart).
                    limit = min(seg.end, seg.req_end)
                    take = min(len(chunk), limit - seg.pos)
                    if take > 0:
                        task.io.write(memoryview(chunk)[:take], seg.pos)
                        seg.pos += take
                        task.fetched += take
                        self.events.bytes(take, task.remote.path)
                        if seg.pos > seg.high:
                            seg.high = seg.pos
                            if not new:
                                new = True
                                sched.progressed(task)
                    # Journal by bytes and by time, whichever first: what a kill can cost.
                    if seg.pos - seg.recorded >= flush_bytes or (
                        seg.pos > seg.recorded and now - seg.flushed >= flush_seconds
                    ):
                        self._flush(seg)
                        seg.flushed = now
                    if seg.pos >= limit:
                        if seg.pos == body_end:  # let httpx see the end: connection reusable
                            for _ in chunks:
                                pass
                        break
                    floor.feed(len(chunk))
            except httpx.HTTPError as exc:
                raise FetchError(
                    f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                ) from exc
        elapsed = time.monotonic() - t0
        if seg.pos > start and elapsed > 0:
            seg.rate = (seg.pos - start) / elapsed
        if seg.pos < min(seg.end, seg.req_end) and not seg.cancelled:
            # Also where a body with no length (chunked, or read to close) ends too soon.
            raise FetchError(f"body ended early at byte {seg.pos} of {seg.end}")

    def _flush(self, seg: Segment) -> None:
        """Make ``[recorded, pos)`` durable and journal it (see FileIO.flush)."""
        if seg.pos > seg.recorded and seg.file.io.flush(seg.recorded, seg.pos):
            seg.recorded = seg.pos

    # -- verification ----------------------------------------------------------------------
    def _verify(self, task: FileTask) -> None:
        problem = task.io.verify()
        if problem is None:
            self.target.install(task.remote, task.placement.part)
            for other in task.files[1:]:
                self.target.link(other)
            with contextlib.suppress(FileNotFoundError):
                task.placement.journal.unlink()
            self._release(task)
            self._sched.finish_file(task, FileState.DONE)
            self.events.file_finished(task.remote.path, True)
            return
        # Mismatch: the bytes cannot be trusted (we cannot tell which range is bad) → refetch,
        # from the next route when one route alone served them (a mirror with a bad copy).
        task.retries += 1
        self.events.discard(task.size)
        task.io.discard()
        dropped = self.routing.blame(task, problem)
        if dropped is None:
            task.verify_failures += 1
        if task.verify_failures >= self.opts.verify_attempts:
            self._fail(
                task,
                f"verification failed {task.verify_failures} times: {problem}",
                "VerificationFailed",
            )
            return
        if dropped is not None:
            nxt = task.routes[Routing.alive(task)[0]].source
            message = f"{task.routes[dropped].source}: verification failed ({problem}); now {nxt}"
        else:
            message = f"verification failed ({problem}); fetching again"
        self.events.retry(task.remote.path, message)
        task.io.open(fresh=True)
        task.single_stream = False
        self.routing.unpin_dead(task)
        self._sched.restart_file(task, self._pieces(task, [(0, task.size)]))
