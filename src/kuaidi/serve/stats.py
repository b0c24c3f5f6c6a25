"""What ``kuaidi serve`` counts, for the status page and ``/metrics``.

:class:`ServeStats` implements :class:`kuaidi.serve.hooks.Stats`. Its counters live in a
``CollectorRegistry`` of its own, never prometheus_client's global one, so two servers (or two
tests) in one process never share numbers. Fills are called from the engine's threads and
``served`` from the event loop: one lock guards the fills table the page reads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from kuaidi.serve.hooks import FillObserver

SPEED_WINDOW = 5.0  # seconds of samples a fill's speed is measured over


@dataclass
class FillView:
    """One fill in progress, as the status page shows it."""

    repo: str
    path: str
    size: int
    done: int
    started: float
    speed: float  # bytes/s over the last SPEED_WINDOW seconds


@dataclass
class _Fill:
    stats: ServeStats
    repo: str
    path: str
    size: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    samples: deque[tuple[float, int]] = field(default_factory=deque)
    ended: bool = False

    def progress(self, nbytes: int) -> None:
        self.stats._fill_progress(self, nbytes)

    def finished(self, ok: bool) -> None:
        self.stats._fill_finished(self, ok)

    def speed(self, now: float) -> float:
        while len(self.samples) > 1 and now - self.samples[0][0] > SPEED_WINDOW:
            self.samples.popleft()
        if not self.samples:
            return 0.0
        t0, d0 = self.samples[0]
        if now - t0 <= 0:
            return 0.0
        return (self.done - d0) / (now - t0)


class ServeStats:
    """The server's counters (``hooks.Stats``) in their own Prometheus registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        self._fills: dict[int, _Fill] = {}
        self._served = Counter(
            "kuaidi_serve_served_bytes",
            "Bytes sent to clients, by where they came from (hit: the cache, miss: a fill)",
            ["source"],
            registry=self.registry,
        )
        self._upstream = Counter(
            "kuaidi_serve_upstream_bytes", "Bytes fetched from upstream", registry=self.registry
        )
        self._requests = Counter(
            "kuaidi_serve_requests",
            "HTTP requests answered, by status class (2xx, 3xx, 4xx, 5xx)",
            ["code"],
            registry=self.registry,
        )
        self._responses = Counter(
            "kuaidi_serve_file_responses",
            "File bodies sent (resolve GETs), by where their bytes came from",
            ["source"],
            registry=self.registry,
        )
        self._fills_total = Counter(
            "kuaidi_serve_fills",
            "Upstream fills ended, by result (ok: verified and complete)",
            ["result"],
            registry=self.registry,
        )
        self._in_progress = Gauge(
            "kuaidi_serve_fills_in_progress", "Fills running now", registry=self.registry
        )
        self._in_progress.set_function(lambda: len(self._fills))
        ratio = Gauge(
            "kuaidi_serve_hit_ratio",
            "Share of bytes served that came from the cache (0 before any)",
            registry=self.registry,
        )
        ratio.set_function(self.hit_ratio)
        saved = Gauge(
            "kuaidi_serve_saved_bytes",
            "Bytes served minus bytes fetched upstream: traffic the cache kept off the link",
            registry=self.registry,
        )
        saved.set_function(self.bytes_saved)
        # Mirrors of the counters, read without going through prometheus_client's internals.
        self.hit_bytes = 0
        self.miss_bytes = 0
        self.upstream_bytes = 0
        self.requests = 0
        self.responses = 0  # file responses (one ``served`` call each)
        self.fills_ended = 0

    # hooks.Stats
    def fill_started(self, repo: str, path: str, size: int) -> FillObserver:
        fill = _Fill(self, repo, path, size)
        fill.samples.append((fill.started, 0))
        with self._lock:
            self._fills[id(fill)] = fill
        return fill

    def served(self, repo: str, nbytes: int, *, hit: bool) -> None:
        with self._lock:
            self.responses += 1
        self._responses.labels("hit" if hit else "miss").inc()
        if nbytes <= 0:
            return
        with self._lock:
            if hit:
                self.hit_bytes += nbytes
            else:
                self.miss_bytes += nbytes
        self._served.labels("hit" if hit else "miss").inc(nbytes)

    # beyond the protocol: the request count (see :func:`count_requests`)
    def request(self, status: int) -> None:
        """One HTTP response with ``status`` was started."""
        with self._lock:
            self.requests += 1
        self._requests.labels(f"{status // 100}xx").inc()

    # what the page and the gauges read
    def hit_ratio(self) -> float:
        total = self.hit_bytes + self.miss_bytes
        return self.hit_bytes / total if total else 0.0

    def bytes_saved(self) -> float:
        return float(max(0, self.hit_bytes + self.miss_bytes - self.upstream_bytes))

    def fills(self) -> list[FillView]:
        """The fills in progress, oldest first."""
        now = time.monotonic()
        with self._lock:
            views = [
                FillView(f.repo, f.path, f.size, f.done, f.started, f.speed(now))
                for f in self._fills.values()
            ]
        return sorted(views, key=lambda v: v.started)

    def _fill_progress(self, fill: _Fill, nbytes: int) -> None:
        if nbytes <= 0 or fill.ended:
            return
        now = time.monotonic()
        with self._lock:
            fill.done += nbytes
            fill.samples.append((now, fill.done))
            self.upstream_bytes += nbytes
        self._upstream.inc(nbytes)

    def _fill_finished(self, fill: _Fill, ok: bool) -> None:
        with self._lock:
            if fill.ended:
                return  # a second call (error path after success) counts once
            fill.ended = True
            self.fills_ended += 1
            self._fills.pop(id(fill), None)
        self._fills_total.labels("ok" if ok else "failed").inc()


Scope = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]


def count_requests(app: ASGIApp, stats: ServeStats) -> ASGIApp:
    """Wrap an ASGI app so every HTTP response start is counted in ``stats.request``."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await app(scope, receive, send)
            return

        async def counting_send(message: Any) -> None:
            if message.get("type") == "http.response.start":
                stats.request(int(message.get("status", 0)))
            await send(message)

        await app(scope, receive, counting_send)

    return wrapped
