"""A Route: one way to fetch one file (source name, resolve URL, client, scoped token).

A file carries an ordered list of routes (the ladder: mirrors, ModelScope, the origin through a
proxy); the engine picks one per segment, moves a file down the list when a route fails it, and
spreads a large file over several domestic routes at once (``kind`` and ``strong`` say which
routes may share a file).

The token is attached only when the request goes to the route's token origin (scheme, host,
port) — never to a CDN the endpoint redirects to — and never appears in ``repr``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url`` with the default port filled in."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme, (parts.hostname or "").lower(), port)


@dataclass(eq=False)
class Route:
    """How to GET one file: ``url`` may redirect (307 resolve-cache, 302 signed CDN URL)."""

    source: str
    url: str
    client: httpx.Client = field(repr=False)
    token: str | None = field(default=None, repr=False)
    token_origin: tuple[str, str, int] | None = None
    kind: str = "mirror"  # "mirror" | "modelscope" | "origin" (the ladder's rungs)
    # The source listed the same hash as the reference (not only the same size): only such
    # routes may serve segments of one file together.
    strong: bool = True
    # The last redirect target (e.g. a signed CDN URL), reused by every segment until it
    # expires; then it is dropped and ``url`` resolved again.
    _location: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def headers_for(self, url: str) -> dict[str, str]:
        """Authorization for ``url`` only when it is on the token's origin."""
        if self.token and self.token_origin and origin_of(url) == self.token_origin:
            return {"authorization": f"Bearer {self.token}"}
        return {}

    @property
    def location(self) -> str | None:
        with self._lock:
            return self._location

    def remember(self, location: str) -> None:
        with self._lock:
            self._location = location

    def forget(self, location: str) -> None:
        """Drop a cached redirect target that stopped working (expired signature)."""
        with self._lock:
            if self._location == location:
                self._location = None
