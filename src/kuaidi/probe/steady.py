"""Throughput that means something: read until the rate is steady, then report that rate.

The first fraction of a second of any download is not the link: the kernel's socket buffers
drain at memory speed and a rate-limited CDN lets a burst through before its cap bites (TCP slow
start does the opposite, it under-reports). A 2 MiB sample can be over before either ends, which
is how a CDN capped at 16 MiB/s once measured at 1,068.5 MB/s. So a sample is cut into windows of
``window`` seconds; the first window (burst, buffers) is never counted; the sample stops once the
last ``windows`` windows agree within ``tolerance`` of their mean and at least ``min_seconds``
have passed, and the reported rate is the rate over those windows. A sample that ends first (the
file ended, the byte cap or the time cap was reached) reports its rate after the first window and
is marked not steady, with the reason.

    >>> t = [0.0]
    >>> s = RateSampler(SamplePolicy(), clock=lambda: t[0])
    >>> while not s.add(64 * 1024):  # 64 KiB every 1/64 s: 4 MiB/s
    ...     t[0] += 1 / 64
    >>> s.steady, round(s.rate / 2**20, 2)
    (True, 4.0)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kuaidi.units import MiB, format_size


@dataclass(frozen=True)
class SamplePolicy:
    """How long one throughput sample reads. Defaults: steady in ~1.25 s on a steady link."""

    window: float = 0.25  # seconds per rate window
    windows: int = 4  # consecutive windows that must agree
    tolerance: float = 0.2  # ... each within ±20 % of their mean
    min_seconds: float = 1.0  # never call a rate steady before this much reading
    max_seconds: float = 4.0  # the time cap: stop here, steady or not
    max_bytes: int = 256 * MiB  # the byte cap (also the Range asked for)


class RateSampler:
    """Feed it each chunk's size as it arrives (:meth:`add`); it says when to stop reading."""

    def __init__(
        self, policy: SamplePolicy | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or SamplePolicy()
        self._clock = clock
        self.nbytes = 0
        self.start: float | None = None  # when the first chunk arrived
        self.last = 0.0  # when the latest chunk arrived
        self.marks: list[tuple[float, int]] = []  # window boundaries (time, bytes so far)
        self.rates: list[float] = []  # rate of each closed window, oldest first
        self.steady = False
        self.stopped = ""  # steady | time | bytes | ended | deadline ('' while reading)

    def add(self, n: int) -> bool:
        """Count ``n`` bytes that just arrived; True when the sample should stop."""
        now = self._clock()
        self.nbytes += n
        self.last = now
        if self.start is None:
            # the first chunk arrived with the first byte: its bytes took no measurable time
            self.start = now
            self.marks.append((now, self.nbytes))
            return self._capped(now)
        t0, b0 = self.marks[-1]
        if now - t0 >= self.policy.window:
            self.marks.append((now, self.nbytes))
            self.rates.append((self.nbytes - b0) / (now - t0))
            if now - self.start >= self.policy.min_seconds and self._settled():
                self.steady, self.stopped = True, "steady"
                return True
        return self._capped(now)

    def ended(self, why: str = "ended") -> None:
        """The body ended (or, ``"deadline"``, the probe's bound ran out) before the sampler
        asked to stop."""
        if not self.stopped:
            self.stopped = why

    def _capped(self, now: float) -> bool:
        if self.start is not None and now - self.start >= self.policy.max_seconds:
            self.stopped = "time"
        elif self.nbytes >= self.policy.max_bytes:
            self.stopped = "bytes"
        return bool(self.stopped)

    def _settled(self) -> bool:
        k = self.policy.windows
        recent = self.rates[1:][-k:]  # the first window (burst, buffers) never counts
        if len(recent) < k:
            return False
        mean = sum(recent) / k
        return mean > 0 and all(abs(r - mean) <= self.policy.tolerance * mean for r in recent)

    @property
    def seconds(self) -> float:
        """Seconds from the first chunk to the last."""
        return 0.0 if self.start is None else self.last - self.start

    @property
    def rate(self) -> float | None:
        """Bytes per second: over the agreeing windows when steady, else after the first
        window (or after the first chunk when no window closed); None if nothing was timed."""
        if self.steady:
            (t0, b0), (t1, b1) = self.marks[-self.policy.windows - 1], self.marks[-1]
            return (b1 - b0) / (t1 - t0)
        if len(self.marks) >= 3:
            t0, b0 = self.marks[1]
        elif self.marks:
            t0, b0 = self.marks[0]
        else:
            return None
        moved, took = self.nbytes - b0, self.last - t0
        return moved / took if moved > 0 and took > 0 else None

    def why_unsteady(self) -> str:
        """One phrase for a sample that did not settle ('' when steady)."""
        if self.steady:
            return ""
        took = f"{self.seconds:.1f} s"
        if self.stopped == "ended":
            return f"the file ended after {format_size(self.nbytes)} ({took})"
        if self.stopped == "deadline":
            return f"the probe's time bound cut it after {took}"
        if self.stopped == "bytes":
            return f"the {format_size(self.policy.max_bytes)} cap was reached in {took}"
        return f"the rate still varied after {took}"
