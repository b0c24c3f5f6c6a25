"""The one HTTP retry policy: which answers to retry, how long to wait, and per-host backoff.

Every request kuaidi makes — listings of every source, each segment of the engine — goes
through the same rules:

- **retryable**: 408, 425, 429, 500, 502, 503, 504 and transport errors; anything else is an
  answer (404, 403, 401 …) the caller maps to a :mod:`kuaidi.errors` kind;
- **server delay**: ``Retry-After`` (delta-seconds or an HTTP date) and the IETF ``RateLimit``
  header (``"policy";r=0;t=30`` as hf-mirror.com sends it, and the older
  ``limit=…, remaining=0, reset=30`` / ``RateLimit-Remaining`` + ``RateLimit-Reset`` forms)
  say how long to wait — capped, and honoured even on a 200 whose quota is spent;
- **backoff**: exponential with jitter (``base·2^(n-1)``, drawn from its upper half, capped);
- **per-host gate** (:class:`HostGate`): backoff is shared by every connection to a host, so
  eight connections that all see a 503 wait together instead of each retrying on its own.
  Many users share one IP on AutoDL; a storm gets all of them refused by hf-mirror.com.

For example::

    policy = Policy()
    resp = policy.request(lambda: client.get(url), url)
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
Host = tuple[str, str, int]
_PARAM = re.compile(r"([A-Za-z][\w-]*)\s*=\s*\"?(-?\d+)")


def host_of(url: str) -> Host:
    """(scheme, host, port) of ``url``; the key of the per-host gate."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return (
        parts.scheme,
        (parts.hostname or "").lower(),
        port or (443 if parts.scheme == "https" else 80),
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); never raises.

    >>> parse_retry_after("7"), parse_retry_after("soon")
    (7.0, None)
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _params(value: str) -> dict[str, int]:
    return {k.lower(): int(v) for k, v in _PARAM.findall(value)}


def parse_ratelimit(headers: Mapping[str, str]) -> float | None:
    """Seconds until the quota the server announced is back, when it is spent (else None).

    ``RateLimit: "api";r=0;t=30`` (draft-ietf-httpapi-ratelimit-headers ≥ 07), ``RateLimit:
    limit=100, remaining=0, reset=30`` (earlier drafts), or ``RateLimit-Remaining: 0`` with
    ``RateLimit-Reset: 30``. Without a reset time, the window of ``RateLimit-Policy``
    (``w=300``) is the wait.

    >>> parse_ratelimit({"ratelimit": '"api";r=0;t=12'})
    12.0
    >>> parse_ratelimit({"ratelimit": '"api";r=5;t=12'}) is None
    True
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    params = _params(lowered.get("ratelimit", ""))
    remaining = params.get("r", params.get("remaining"))
    reset = params.get("t", params.get("reset"))
    if remaining is None and "ratelimit-remaining" in lowered:
        remaining = _params("r=" + lowered["ratelimit-remaining"]).get("r")
        reset = _params("t=" + lowered.get("ratelimit-reset", "")).get("t")
    if remaining is None or remaining > 0:
        return None
    if reset is None:
        reset = _params(lowered.get("ratelimit-policy", "")).get("w")
    return float(max(0, reset)) if reset is not None else None


def server_delay(headers: Mapping[str, str]) -> float | None:
    """The longest wait the server asked for in ``Retry-After`` or ``RateLimit`` (or None)."""
    waits = [
        w
        for w in (parse_retry_after(headers.get("retry-after")), parse_ratelimit(headers))
        if w is not None
    ]
    return max(waits) if waits else None


@dataclass(frozen=True)
class Backoff:
    """``delay(n)`` for the n-th consecutive failure (1-based): base·2^(n-1), jittered, capped."""

    base: float = 0.25
    cap: float = 10.0
    retry_after_cap: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None, *, rng: random.Random) -> float:
        if retry_after is not None:
            # The server said when; a little jitter keeps N connections from returning at once.
            return min(retry_after, self.retry_after_cap) + rng.uniform(0, 0.1)
        ceiling = min(self.cap, self.base * (2 ** max(0, min(attempt, 64) - 1)))
        return rng.uniform(ceiling / 2, ceiling)


@dataclass
class _HostState:
    failures: int = 0  # consecutive backoff rounds without a success
    not_before: float = 0.0


class HostGate:
    """Backoff shared by every connection to a host (scheme, name, port). Thread-safe.

    A failure closes the gate for the backoff of the host's n-th failed *round*: failures that
    arrive while the gate is already closed (the other connections of the same burst) do not
    lengthen it, so eight connections cost one round, not eight. A success opens it again.
    """

    def __init__(self, backoff: Backoff | None = None, *, seed: int | None = None) -> None:
        self.backoff = backoff or Backoff()
        self._hosts: dict[Host, _HostState] = {}
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def remaining(self, host: Host) -> float:
        """Seconds until the gate for ``host`` opens (0 when open)."""
        with self._lock:
            state = self._hosts.get(host)
            return max(0.0, state.not_before - time.monotonic()) if state else 0.0

    def wait(
        self,
        host: Host,
        *,
        stop: Callable[[], bool] = lambda: False,
        beat: Callable[[], None] = lambda: None,
    ) -> None:
        """Sleep until the gate for ``host`` is open (``stop()`` ends the wait early)."""
        while (left := self.remaining(host)) > 0 and not stop():
            beat()  # the engine's watchdog: waiting for a gate is not being stuck
            time.sleep(min(left, 0.1))

    def failure(self, host: Host, delay: float | None = None) -> float:
        """``host`` failed (a retryable status or no answer); returns the wait imposed."""
        with self._lock:
            state = self._hosts.setdefault(host, _HostState())
            now = time.monotonic()
            if now - state.not_before > 2 * self.backoff.cap:
                state.failures = 0  # quiet for long enough: an old outage is forgotten
            if now < state.not_before and delay is None:
                return state.not_before - now  # the same burst: already backing off
            state.failures += 1
            wait = self.backoff.delay(state.failures, delay, rng=self._rng)
            state.not_before = max(state.not_before, now + wait)
            return state.not_before - now

    def success(self, host: Host, delay: float | None = None) -> None:
        """``host`` answered; ``delay`` (a spent RateLimit quota) still closes the gate."""
        with self._lock:
            state = self._hosts.get(host)
            if state is None and delay is None:
                return
            state = self._hosts.setdefault(host, _HostState())
            state.failures = 0
            if delay is not None:
                wait = min(delay, self.backoff.retry_after_cap)
                state.not_before = max(state.not_before, time.monotonic() + wait)

    def reset(self) -> None:
        with self._lock:
            self._hosts.clear()


def transient(exc: httpx.HTTPError) -> bool:
    """A transport error worth retrying: not a malformed URL, not a name that does not exist."""
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError)):
        return False
    text = str(exc)
    return not (
        isinstance(exc, httpx.ConnectError)
        and ("Name or service not known" in text or "nodename nor servname" in text)
    )


@dataclass
class Policy:
    """Retries with backoff through a shared :class:`HostGate` (see the module docstring)."""

    gate: HostGate = field(default_factory=HostGate)
    retries: int = 4
    seed: int | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @property
    def backoff(self) -> Backoff:
        return self.gate.backoff

    def delay(self, attempt: int, server: float | None = None) -> float:
        with self._lock:
            return self.backoff.delay(attempt, server, rng=self._rng)

    def request(
        self,
        send: Callable[[], httpx.Response],
        url: str,
        *,
        retries: int | None = None,
    ) -> httpx.Response:
        """``send()`` until it answers something other than a retryable status, at most
        ``retries + 1`` times, waiting at the host's gate before each try. The last answer is
        returned even when retryable (the caller names the failure); the last transport error
        is raised when no answer came, at once when it is not :func:`transient`."""
        host = host_of(url)
        tries = (self.retries if retries is None else retries) + 1
        for attempt in range(1, tries + 1):
            self.gate.wait(host)
            try:
                resp = send()
            except httpx.HTTPError as exc:
                if attempt == tries or not transient(exc):
                    raise
                self.gate.failure(host)
                continue
            wait = server_delay(resp.headers)
            if resp.status_code not in RETRYABLE_STATUS:
                self.gate.success(host, wait)
                return resp
            self.gate.failure(host, wait)
            if attempt == tries:
                return resp
            resp.close()
        raise AssertionError("unreachable")  # pragma: no cover


_DEFAULT = Policy()


def default_policy() -> Policy:
    """The process-wide policy: one gate per host for every source and the engine alike."""
    return _DEFAULT
