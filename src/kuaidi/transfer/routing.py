"""Which route a segment takes: the file's ladder, shared by sources, demoted on failure.

A file's ``routes`` are its ladder in order (HF mirrors, ModelScope, the origin through a
proxy). :class:`Routing` decides, per segment:

- **the ladder**: the first route still alive for that file; a route that answers with a
  fatal error (404, 403, gated), fails ``route_retries`` times in a row without progress or
  ``route_budget`` times in all (resets, 5xx, stalls, a trickle), or delivers bytes that fail
  verification is *dead* for that file, and its segments continue on the next route — other
  files keep using it;
- **sharing**: a large file whose first alive route is domestic is spread over every alive
  domestic route that listed the same hash (``Route.strong``), each segment to the source
  with the least load relative to its measured speed, so two half-speed links add up. The
  origin never shares: it is metered and slow, the last resort only.

Load and speed are per *source* (all files of a run), speed being a moving average of bytes
per second per connection — a source with a total cap gets slower per connection as more pile
on, which is what steers the next segment to the other one.

For example::

    routing = Routing(share_min=64 << 20, route_retries=2)
    idx = routing.pick(task); ...; routing.release(task, idx, nbytes, seconds)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from kuaidi.transfer.task import FileTask

Outcome = Literal["retry", "moved", "exhausted"]
_ALPHA = 0.3  # weight of the newest speed sample
_MIN_SAMPLE = 256 * 1024  # smaller transfers say more about latency than speed


@dataclass
class RouteState:
    """One file's ladder state: routes given up on and why, each route's last error and
    failure count, bytes served per source, routes that served the current attempt, and the
    one route it is pinned to. Guarded by its :class:`Routing`'s lock alone."""

    dead: dict[int, str] = field(default_factory=dict)
    last_errors: dict[int, str] = field(default_factory=dict)
    route_failures: dict[int, int] = field(default_factory=dict)  # all failures, per route
    served: dict[str, int] = field(default_factory=dict)
    attempt_routes: set[int] = field(default_factory=set)
    pinned: int | None = None  # one route only (the server ignored Range, or blame-finding)


@dataclass
class SourceLoad:
    active: int = 0
    rate: float = 0.0  # bytes/s per connection (moving average); 0 = not measured yet


class Routing:
    """Route choice and demotion for one run (see the module docstring). Thread-safe."""

    def __init__(
        self, *, share_min: int, route_retries: int, route_budget: int = 6, share: bool = True
    ) -> None:
        self.share_min = share_min
        self.route_retries = route_retries
        self.route_budget = route_budget
        self.share = share
        self._lock = threading.Lock()
        self._load: dict[str, SourceLoad] = {}

    # -- choice ------------------------------------------------------------------------------
    @staticmethod
    def alive(task: FileTask) -> list[int]:
        return [i for i in range(len(task.routes)) if i not in task.route.dead]

    def pin(self, task: FileTask, idx: int | None) -> None:
        """Fetch ``task`` from route ``idx`` only (None: any alive route again)."""
        with self._lock:
            task.route.pinned = idx

    def unpin_dead(self, task: FileTask) -> None:
        with self._lock:
            if task.route.pinned is not None and task.route.pinned in task.route.dead:
                task.route.pinned = None

    def pick(self, task: FileTask) -> int:
        """The route index for the next segment of ``task``; counts it active. A file always
        has a route alive: the last one is never dropped (the file fails instead)."""
        with self._lock:
            alive = self.alive(task)
            if task.route.pinned in alive:
                idx = task.route.pinned
            else:
                idx = alive[0]
                sharers = self._sharers(task, alive)
                if idx in sharers and len(sharers) > 1:
                    idx = min(sharers, key=lambda i: (self._score(task, i), sharers.index(i)))
            self._source(task, idx).active += 1
            return idx

    def _sharers(self, task: FileTask, alive: list[int]) -> list[int]:
        if not self.share or task.single_stream or task.size < self.share_min:
            return []
        return [i for i in alive if task.routes[i].strong and task.routes[i].kind != "origin"]

    def _score(self, task: FileTask, idx: int) -> float:
        load = self._source(task, idx)
        known = [s.rate for s in self._load.values() if s.rate > 0]
        rate = load.rate or (max(known) if known else 1.0)  # unmeasured: assume the best
        return (load.active + 1) / rate

    def _source(self, task: FileTask, idx: int) -> SourceLoad:
        return self._load.setdefault(task.routes[idx].source, SourceLoad())

    def release(self, task: FileTask, idx: int, nbytes: int, seconds: float) -> None:
        """A segment on route ``idx`` stopped after moving ``nbytes`` in ``seconds``."""
        with self._lock:
            load = self._source(task, idx)
            load.active = max(0, load.active - 1)
            if nbytes >= _MIN_SAMPLE and seconds > 0:
                sample = nbytes / seconds
                load.rate = sample if not load.rate else (1 - _ALPHA) * load.rate + _ALPHA * sample
            if nbytes:
                task.route.attempt_routes.add(idx)
                name = task.routes[idx].source
                task.route.served[name] = task.route.served.get(name, 0) + nbytes

    # -- failure -----------------------------------------------------------------------------
    def failed(
        self, task: FileTask, idx: int, error: str, *, fatal: bool, failures: int, limit: int
    ) -> Outcome:
        """A segment on route ``idx`` failed (its ``failures``-th time in a row without
        progress). "retry": same route after a backoff; "moved": the route is dead for this
        file, go on with the next; "exhausted": no route left (the file fails)."""
        with self._lock:
            task.route.last_errors[idx] = error
            if idx in task.route.dead:  # another segment already dropped it
                return "moved"
            total = task.route.route_failures[idx] = task.route.route_failures.get(idx, 0) + 1
            others = [i for i in self.alive(task) if i != idx]
            if others:
                # Failing in a row, or again and again even with some progress in between (a
                # route that resets every 100 KiB crawls): the next route is the better bet.
                give_up = failures > self.route_retries or total > self.route_budget
            else:
                give_up = failures > limit  # the last route: keep going while it progresses
            if not fatal and not give_up:
                return "retry"
            if not others:
                return "exhausted"
            self._kill(task, idx, error)
            return "moved"

    def blame(self, task: FileTask, problem: str) -> int | None:
        """A file failed verification: drop the route that served it, if only one did (and
        another is left); if several did, fetch the next attempt from one route only, so a
        second mismatch names the culprit. Returns the dropped route's index."""
        with self._lock:
            served = sorted(task.route.attempt_routes)
            task.route.attempt_routes = set()
            alive = self.alive(task)
            if len(served) == 1 and served[0] in alive and len(alive) > 1:
                self._kill(task, served[0], f"bytes failed verification ({problem})")
                return served[0]
            if len(served) > 1 and alive:
                task.route.pinned = alive[0]
            return None

    def _kill(self, task: FileTask, idx: int, error: str) -> None:
        task.route.dead[idx] = error
        task.route.last_errors[idx] = error
        if task.route.pinned == idx:
            task.route.pinned = None

    @staticmethod
    def summary(task: FileTask) -> str:
        """Every route's last error, for the message of a file that failed on all of them."""
        parts = [f"{task.routes[i].source}: {e}" for i, e in sorted(task.route.last_errors.items())]
        return "; ".join(parts)
