"""The request log: what each simulated host saw and sent, with secrets fingerprinted.

Tests ask questions of it instead of scraping stdout::

    log = sim.log("hf-mirror")
    assert log.requests(path_glob="*/resolve/*", method="HEAD")
    assert not sim.log("origin").saw_token(token)      # the token never left for origin
    assert log.bytes_sent("/api/resolve-cache/*") > 0

Authorization and Cookie values are replaced by ``fp:<sha256(value)[:12]>`` so the log (and any
file it is dumped to) never holds a token, yet "did host X see token T?" stays answerable.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})


def fingerprint(value: str) -> str:
    """The redacted form of a secret header value: ``fp:`` + first 12 hex of its sha256."""
    return "fp:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def token_fingerprints(token: str) -> set[str]:
    """Fingerprints under which ``token`` may appear (bare or ``Bearer <t>``)."""
    return {fingerprint(f) for f in (token, f"Bearer {token}", f"bearer {token}", f"token {token}")}


def _redact_cookie(value: str) -> str:
    # Each cookie is fingerprinted on its own so one session cookie is findable among many.
    parts = []
    for part in value.split(";"):
        name, sep, val = part.strip().partition("=")
        parts.append(f"{name}={fingerprint(val)}" if sep else fingerprint(name))
    return "; ".join(parts)


def redact_headers(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header pairs with secret values replaced by their fingerprint."""
    out = []
    for key, value in items:
        lkey = key.lower()
        if lkey == "cookie":
            value = _redact_cookie(value)
        elif lkey in SECRET_HEADERS:
            value = fingerprint(value)
        out.append((key, value))
    return out


@dataclass(frozen=True)
class LogEntry:
    """One request as a host handled it (status 0 = connection refused by the wall)."""

    host: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: list[tuple[str, str]]
    status: int
    bytes_sent: int
    range: str | None
    client: tuple[str, int]
    started: float
    duration: float
    faults: tuple[str, ...] = ()
    outcome: str = "ok"  # ok | reset | truncated | stalled-abandoned | aborted | refused

    def header(self, name: str) -> str | None:
        """A (redacted) request header value, case-insensitive."""
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)


@dataclass
class RequestLog:
    """Thread-safe, append-only list of :class:`LogEntry` for one host.

    Reading it *settles* first: it waits (at most ``settle`` seconds) for requests the host is
    still answering, so a client that has read a whole response always finds it logged. Stalled
    responses do not hold readers up (the server marks them idle while they stall).
    """

    host: str
    settle: float = 2.0
    _entries: list[LogEntry] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _busy: int = 0

    def begin(self) -> None:
        """A request is being answered (called by the server)."""
        with self._cond:
            self._busy += 1

    def end(self, entry: LogEntry | None) -> None:
        """The request finished; log it (called by the server, pairs with :meth:`begin`)."""
        with self._cond:
            self._busy -= 1
            if entry is not None:
                self._entries.append(entry)
            self._cond.notify_all()

    def idle(self, idle: bool) -> None:
        """Mark a begun request as not worth waiting for (a stall) or busy again."""
        with self._cond:
            self._busy += -1 if idle else 1
            self._cond.notify_all()

    def add(self, entry: LogEntry) -> None:
        with self._cond:
            self._entries.append(entry)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._entries.clear()

    @property
    def entries(self) -> list[LogEntry]:
        with self._cond:
            self._cond.wait_for(lambda: self._busy <= 0, timeout=self.settle)
            return list(self._entries)

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def requests(
        self,
        path_glob: str = "*",
        *,
        method: str | None = None,
        status: int | None = None,
        fault: str | None = None,
    ) -> list[LogEntry]:
        """Entries whose decoded path matches ``path_glob`` (``*`` spans ``/``), optionally
        filtered by method, status and a fault kind that fired on them."""
        return [
            e
            for e in self.entries
            if fnmatchcase(e.path, path_glob)
            and (method is None or e.method == method.upper())
            and (status is None or e.status == status)
            and (fault is None or fault in e.faults)
        ]

    def saw_token(self, token: str) -> bool:
        """True if any request carried ``token`` in a secret header (Bearer, cookie, bare)."""
        prints = token_fingerprints(token)
        bare = fingerprint(token)
        for entry in self.entries:
            for key, value in entry.headers:
                lkey = key.lower()
                if lkey == "cookie" and any(
                    p.partition("=")[2] == bare or p == bare for p in value.split("; ")
                ):
                    return True
                if lkey in SECRET_HEADERS and value in prints:
                    return True
        return False

    def bytes_sent(self, path_glob: str = "*") -> int:
        """Body bytes this host sent for requests whose path matches ``path_glob``."""
        return sum(e.bytes_sent for e in self.requests(path_glob))

    def dump(self) -> str:
        """One line per request, for a failing test's message."""
        return "\n".join(
            f"{e.method} {e.path} -> {e.status} {e.bytes_sent}B {e.outcome}"
            + (f" faults={','.join(e.faults)}" if e.faults else "")
            + (f" range={e.range}" if e.range else "")
            for e in self.entries
        )
