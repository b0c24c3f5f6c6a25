"""The scheduler's own watchdog and its one-request-at-a-time probing (issue 10 #1, #2)."""

from __future__ import annotations

import threading
import time

from kuaidi.model import RemoteFile
from kuaidi.transfer.scheduler import FileState, FileTask, Scheduler
from kuaidi.transfer.segment import Segment

MiB = 1 << 20


def _task(size: int = 64 * MiB, pieces: int = 4) -> FileTask:
    task = FileTask([RemoteFile(path="w.bin", size=size, sha256="0" * 64)], None, [])  # type: ignore[arg-type]
    step = size // pieces
    task.segments = [Segment(task, i * step, (i + 1) * step) for i in range(pieces)]
    return task


def _sched(task: FileTask, **kw: float) -> Scheduler:
    return Scheduler([task], lambda t: "active", min_split=MiB, **kw)  # type: ignore[arg-type]


def _next(sched: Scheduler, timeout: float = 2.0):  # type: ignore[no-untyped-def]
    box: list[object] = []
    t = threading.Thread(target=lambda: box.append(sched.next_work()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else "waiting"


def test_an_unproven_file_gets_one_request_at_a_time() -> None:
    task = _task()
    sched = _sched(task)
    first = sched.next_work()
    assert isinstance(first, Segment)
    assert _next(sched, 0.3) == "waiting", "no second request before the first proved good"
    sched.flowing(first)
    assert isinstance(_next(sched), Segment)


def test_a_failing_file_goes_back_to_one_request_and_its_range_is_never_split() -> None:
    task = _task(pieces=1)
    sched = _sched(task)
    seg = sched.next_work()
    assert isinstance(seg, Segment)
    sched.flowing(seg)
    assert sched._steal() is not None, "a flowing range of a healthy file is split"
    task.segments[1:] = []
    seg.end = task.size
    sched.count_failure(task)
    assert sched._steal() is None, "not split while its file is failing"
    sched.requeue(seg, 0.0)
    assert sched.next_work() is seg
    task.failures = 0
    assert not seg.flowing and sched._steal() is None, "nor while its request still waits"


def test_a_stuck_attempt_is_replaced_and_counted() -> None:
    task = _task(pieces=1)
    sched = _sched(task, stuck_after=0.2, max_failures=5)
    seg = sched.next_work()
    assert isinstance(seg, Segment)
    sched.flowing(seg)
    seg.pos = seg.recorded = 3 * MiB
    seg.beat = time.monotonic() - 1.0  # the worker is stuck in a read past every timeout
    fresh = _next(sched)
    assert isinstance(fresh, Segment) and fresh is not seg
    assert seg.cancelled and (fresh.start, fresh.end) == (3 * MiB, seg.end)
    assert task.failures == 1


def test_a_file_left_without_work_fails_instead_of_hanging() -> None:
    """The hang of issue 10 #1: a file whose only segment was cancelled with no worker on it."""
    task = _task(pieces=1)
    sched = _sched(task)
    seg = sched.next_work()
    assert isinstance(seg, Segment)
    seg.cancelled = True  # what go_single_stream on an already-cancelled range used to leave
    assert _next(sched) is None
    assert task.state == FileState.FAILED and task.kind == "SourceUnavailable"


def test_a_cancelled_range_cannot_take_its_file_back() -> None:
    task = _task(pieces=2)
    sched = _sched(task)
    a = sched.next_work()
    assert isinstance(a, Segment)
    sched.flowing(a)
    b = sched.next_work()
    assert isinstance(b, Segment)
    assert sched.go_single_stream(a)
    assert b.cancelled
    assert not sched.go_single_stream(b), "b was cancelled: a keeps the file"
    assert task.segments == [a] and not a.cancelled
