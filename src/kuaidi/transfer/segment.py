"""Segments: byte ranges of one file, fetched by one connection, split for work stealing.

``pos`` advances as bytes are written; ``end`` can shrink while a connection is reading when
another connection steals the tail (``split``). A segment is fetched as one or more bounded
requests ``[pos, req_end)`` on one connection; a split never cuts inside the request in flight
(the cut is at ``req_end`` or later), so the reader ends each response exactly at its body's end
and the connection goes back to the pool instead of being closed with bytes still in flight.
All mutation happens under the scheduler's lock, except ``pos`` which only its owning worker
advances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kuaidi.transfer.task import FileTask

ALIGN = 64 * 1024


@dataclass(eq=False)
class Segment:
    """``[pos, end)`` still to fetch of a range that started at ``start``."""

    file: FileTask = field(repr=False)
    start: int
    end: int
    pos: int = -1
    recorded: int = -1  # journal covers [start, recorded)
    active: bool = False  # a worker is reading it
    cancelled: bool = False
    not_before: float = 0.0  # earliest retry time (backoff)
    # The current attempt's response proved good (206 at the right offset): only then may its
    # tail be stolen — splitting a range whose request still waits doubles a failing request.
    flowing: bool = False
    high: int = -1  # the furthest ``pos`` ever reached (a single stream restarts from 0)
    beat: float = 0.0  # last sign of life of the attempt (monotonic): the engine's watchdog
    flushed: float = 0.0  # when the journal last covered this segment (monotonic)
    req_end: int = -1  # end of the request in flight (-1: none); splits cut at or after it
    rate: float = 0.0  # bytes/s of this segment's last request (sizes tail requests)

    def __post_init__(self) -> None:
        if self.pos < 0:
            self.pos = self.start
        if self.recorded < 0:
            self.recorded = self.start
        if self.high < 0:
            self.high = self.pos

    @property
    def remaining(self) -> int:
        return max(0, self.end - self.pos)

    def split(self, min_size: int) -> Segment | None:
        """Give away the upper half of what remains (if both halves stay >= ``min_size``),
        never cutting inside the request in flight."""
        remaining = self.remaining
        if remaining < 2 * min_size:
            return None
        mid = self.pos + remaining // 2
        mid -= mid % ALIGN  # aligned cuts keep pwrite and the page cache happy
        if mid < self.req_end:
            mid = self.req_end  # the owner's request ends there: it finishes that much
        elif mid - self.pos < min_size:
            return None
        if self.end - mid < min_size:
            return None
        tail = Segment(self.file, mid, self.end, rate=self.rate)
        self.end = mid
        return tail
