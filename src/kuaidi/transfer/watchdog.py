"""The stall watchdog's second half: a connection that trickles is as good as stalled.

The first half is the client's read timeout (``--stall-timeout``): no byte at all for that long
raises. It never fires while a byte a second arrives, so :class:`SpeedFloor` also drops a
connection that delivers less than ``min_speed`` bytes/s over a window of the same length;
the engine requeues its range (on the next route, if this one keeps doing it).
"""

from __future__ import annotations

import time

from kuaidi.transfer.fetch import FetchError


class SpeedFloor:
    """``feed(n)`` after each chunk; raises :class:`FetchError` when a window ran too slow.

    >>> floor = SpeedFloor(min_speed=0, window=1.0)
    >>> floor.feed(1)
    """

    def __init__(self, min_speed: int, window: float) -> None:
        self.min_speed = min_speed
        self.window = window
        self._start = time.monotonic()
        self._bytes = 0

    def feed(self, n: int) -> None:
        self._bytes += n
        elapsed = time.monotonic() - self._start
        if elapsed < self.window:
            return
        if self._bytes < self.min_speed * elapsed:
            raise FetchError(
                f"too slow: {self._bytes} bytes in {elapsed:.1f} s "
                f"(under --min-speed {self.min_speed} B/s)"
            )
        self._start, self._bytes = time.monotonic(), 0
