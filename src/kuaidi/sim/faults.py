"""Fault rules: what goes wrong on a simulated host, on which paths, how often.

A rule is data (:class:`FaultRule`), built with the one-line constructors below::

    stall(after="64KiB", path="model.safetensors", times=1)   # hang once mid-body
    reset(after="1MiB", rate=0.2)                               # RST on 20% of GETs
    status(429, retry_after=2, path="/api/*", times=3)
    corrupt(offset=12345, path="model.safetensors")            # flip one byte at a file offset
    truncate(after=1000)        # Content-Length promises more, then close
    truncate(after=1000, clean=True)   # a chunked body ends early with a proper last chunk
    ignore_range()              # 200 + full body for a ranged GET
    ignore_range(mode="200-with-content-range")   # ModelScope's live quirk
    ignore_range(mode="chunked")   # 200, chunked, no Content-Length, full body (a real mirror)
    expire(path="/blobs/*")     # the signed URL is "expired": 403
    latency(0.2)                # extra seconds before the response

Path globs use ``fnmatchcase`` on the decoded path (``*`` spans ``/``); a glob not starting with
``/`` or ``*`` matches the path's tail, so ``"model.safetensors"`` means ``*/model.safetensors``.

Determinism under concurrency: whether a rule fires is decided from a hash of (seed, host, rule,
method, path, Range, n-th occurrence of that key), never from a shared RNG stream, so 8 threads
hitting 8 ranges get the same fates in any interleaving. ``times`` caps total firings so that a
client's retry succeeds.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from kuaidi.sim.sizes import parse_size

# Decided before the app runs (they replace or shape the response) ...
PRE_KINDS = frozenset({"status", "ignore_range", "expire", "latency"})
# ... and while the body is on the wire.
BODY_KINDS = frozenset({"stall", "reset", "truncate", "corrupt"})


@dataclass(frozen=True)
class FaultRule:
    """One fault. Build it with :func:`stall`, :func:`reset`, … rather than by hand."""

    kind: str
    path: str = "*"
    after: int = 0  # body bytes sent before a stall/reset/truncate
    offset: int = 0  # file offset of the corrupted byte
    seconds: float | None = None  # stall length (None: until the client gives up) / latency
    status: int = 503
    retry_after: int | None = None
    rate: float = 1.0
    times: int | None = None
    methods: tuple[str, ...] = ()  # empty: GET for body faults, any method otherwise
    mode: str = "ignore"

    def matches(self, method: str, path: str) -> bool:
        methods = self.methods or (("GET",) if self.kind in BODY_KINDS else ())
        if methods and method not in methods:
            return False
        glob = self.path if self.path.startswith(("/", "*")) else "*/" + self.path
        return fnmatchcase(path, glob)


def stall(
    after: int | str = 0,
    *,
    seconds: float | None = None,
    path: str = "*",
    rate: float = 1.0,
    times: int | None = None,
) -> FaultRule:
    """Send ``after`` body bytes, then nothing for ``seconds`` (None: until the client closes)."""
    return FaultRule(
        "stall", path=path, after=parse_size(after), seconds=seconds, rate=rate, times=times
    )


def reset(
    after: int | str = 0, *, path: str = "*", rate: float = 1.0, times: int | None = None
) -> FaultRule:
    """Send ``after`` body bytes, then RST the connection (SO_LINGER 0)."""
    return FaultRule("reset", path=path, after=parse_size(after), rate=rate, times=times)


def truncate(
    after: int | str = 0,
    *,
    clean: bool = False,
    path: str = "*",
    rate: float = 1.0,
    times: int | None = None,
) -> FaultRule:
    """Send ``after`` body bytes of a longer promised length, then close (FIN, no RST).

    ``clean``: a chunked body then ends with its last-chunk marker, so framing cannot tell
    the body is short — only the file's size can (a mirror that streams a partial cache file).
    With Content-Length there is no clean way to end early; ``clean`` changes nothing then.
    """
    mode = "clean" if clean else "ignore"
    return FaultRule(
        "truncate", path=path, after=parse_size(after), rate=rate, times=times, mode=mode
    )


def corrupt(
    offset: int | str, *, path: str = "*", rate: float = 1.0, times: int | None = None
) -> FaultRule:
    """Flip (xor 0xFF) the byte at file ``offset`` whenever a response body covers it."""
    return FaultRule("corrupt", path=path, offset=parse_size(offset), rate=rate, times=times)


def status(
    code: int = 503,
    *,
    retry_after: int | None = None,
    path: str = "*",
    methods: tuple[str, ...] = (),
    rate: float = 1.0,
    times: int | None = None,
) -> FaultRule:
    """Answer ``code`` instead of the real response (with ``Retry-After`` if given)."""
    return FaultRule(
        "status",
        path=path,
        status=code,
        retry_after=retry_after,
        methods=methods,
        rate=rate,
        times=times,
    )


def ignore_range(
    *, mode: str = "ignore", path: str = "*", rate: float = 1.0, times: int | None = None
) -> FaultRule:
    """Serve ranged GETs as ``mode``: "ignore" (200, full body), "200-with-content-range", or
    "chunked" (200, ``Transfer-Encoding: chunked``, no Content-Length, full body: a third-party
    mirror that streams from its own upstream)."""
    if mode not in ("ignore", "200-with-content-range", "chunked"):
        raise ValueError(f"ignore_range mode {mode!r}")
    return FaultRule("ignore_range", path=path, mode=mode, rate=rate, times=times)


def expire(*, path: str = "*", rate: float = 1.0, times: int | None = None) -> FaultRule:
    """Treat the (signed) URL as expired: 403 like S3/OSS ``Request has expired``."""
    return FaultRule("expire", path=path, rate=rate, times=times)


def latency(
    seconds: float, *, path: str = "*", rate: float = 1.0, times: int | None = None
) -> FaultRule:
    """Wait ``seconds`` before answering (on top of the host's RTT)."""
    return FaultRule("latency", path=path, seconds=seconds, rate=rate, times=times)


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Faults:
    """The fault rules of one host, with the counters that make ``times`` and ``rate`` work."""

    def __init__(self, rules: Iterable[FaultRule] = (), *, seed: int = 0, host: str = "") -> None:
        self.rules: list[FaultRule] = list(rules)
        self.seed = seed
        self.host = host
        self._seen: Counter[tuple[object, ...]] = Counter()
        self.fired: Counter[int] = Counter()  # rule index -> times fired
        self._lock = threading.Lock()

    def add(self, *rules: FaultRule) -> None:
        """Add rules at run time (e.g. from a test after the sim started)."""
        with self._lock:
            self.rules.extend(rules)

    def clear(self) -> None:
        """Drop every rule and counter."""
        with self._lock:
            self.rules.clear()
            self._seen.clear()
            self.fired.clear()

    def fired_count(self, kind: str | None = None) -> int:
        """How many times rules (of ``kind``) fired."""
        with self._lock:
            return sum(
                n for i, n in self.fired.items() if kind is None or self.rules[i].kind == kind
            )

    def decide(
        self,
        kinds: frozenset[str],
        method: str,
        path: str,
        range_header: str | None,
        eligible: Callable[[FaultRule], bool] = lambda rule: True,
        *,
        order: Callable[[FaultRule], int] | None = None,
        on_fire: Callable[[FaultRule], None] | None = None,
    ) -> list[FaultRule]:
        """The rules of ``kinds`` that fire for this request (each counted once).

        ``order`` sorts the candidates (body faults: by the byte where they act) and
        ``on_fire`` lets the caller make later candidates ineligible (nothing acts after a
        reset), so a rule is only counted as fired when it really happens.
        """
        out: list[FaultRule] = []
        with self._lock:
            indexed = list(enumerate(self.rules))
            if order is not None:
                indexed.sort(key=lambda item: order(item[1]))
            for index, rule in indexed:
                if rule.kind not in kinds or not rule.matches(method, path) or not eligible(rule):
                    continue
                key = (index, method, path, range_header)
                nth = self._seen[key]
                self._seen[key] += 1
                if rule.times is not None and self.fired[index] >= rule.times:
                    continue
                if rule.rate < 1.0 and _unit(self.seed, self.host, *key, nth) >= rule.rate:
                    continue
                self.fired[index] += 1
                out.append(rule)
                if on_fire is not None:
                    on_fire(rule)
        return out


class TokenBucket:
    """A thread-safe token bucket for bytes; ``take(n)`` blocks until ``n`` bytes may be sent.

    Takers may drive the balance negative and then sleep off their own debt, so concurrent
    connections share the rate fairly without a scheduler thread. ``granted`` and ``waited``
    are the accounting tests assert on (with an injected clock and sleep, no real time passes).
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(rate / 8, 64 * 1024))
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()
        self.granted = 0
        self.waited = 0.0

    def take(self, n: int) -> float:
        """Reserve ``n`` bytes; sleep as long as the rate requires. Returns the seconds slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
            self.granted += n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait
