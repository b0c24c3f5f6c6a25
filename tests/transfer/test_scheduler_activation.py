"""Activation (filelock, journal, open, ftruncate) runs outside the scheduler's lock, and a
steal cuts a segment only at the end of its request in flight (issue 13)."""

from __future__ import annotations

import threading

from kuaidi.model import RemoteFile
from kuaidi.transfer.scheduler import FileTask, Scheduler
from kuaidi.transfer.segment import Segment

MiB = 1 << 20


def _task(name: str, size: int = 8 * MiB) -> FileTask:
    task = FileTask([RemoteFile(path=name, size=size, sha256="0" * 64)], None, [])  # type: ignore[arg-type]
    task.segments = [Segment(task, 0, size)]
    return task


def test_a_slow_activation_does_not_hold_the_scheduler() -> None:
    slow, fast = _task("slow.bin", 16 * MiB), _task("fast.bin")
    entered, release = threading.Event(), threading.Event()

    def activate(task: FileTask) -> str:
        if task is slow:
            entered.set()
            assert release.wait(10), "the other worker never got past the scheduler"
        return "active"

    sched = Scheduler([slow, fast], activate, min_split=MiB)
    box: list[object] = []
    first = threading.Thread(target=lambda: box.append(sched.next_work()), daemon=True)
    first.start()
    assert entered.wait(5)
    # While the first worker sits in the slow activation, a second one gets the other file.
    other = sched.next_work()
    assert isinstance(other, Segment) and other.file is fast
    release.set()
    first.join(5)
    assert isinstance(box[0], Segment) and box[0].file is slow


def test_a_steal_never_cuts_inside_the_request_in_flight() -> None:
    seg = Segment(_task("a.bin", 64 * MiB), 0, 64 * MiB)
    seg.req_end = 48 * MiB  # the owner asked for [0, 48 MiB)
    tail = seg.split(MiB)
    assert tail is not None and tail.start == 48 * MiB and seg.end == 48 * MiB
    whole = Segment(_task("b.bin", 64 * MiB), 0, 64 * MiB)
    whole.req_end = 64 * MiB  # the request covers the whole segment: nothing to give away
    assert whole.split(MiB) is None and whole.end == 64 * MiB
