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
from typing import Literal
from urllib.parse import urlsplit

import httpx

from kuaidi.model.repo import RemoteFile

# The ladder's rungs, in the order they are tried: domestic HF mirrors, ModelScope, the origin.
RouteKind = Literal["mirror", "modelscope", "origin"]
Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin:
    """``(scheme, host, port)`` of ``url``, default port filled in; a bare host means https.

    >>> origin_of("hf-mirror.com")
    ('https', 'hf-mirror.com', 443)
    >>> origin_of("http://Mirror.example:8080/x")
    ('http', 'mirror.example', 8080)
    """
    parts = urlsplit(url if "://" in url else f"https://{url}")
    scheme = parts.scheme.lower()
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:  # a malformed port: an origin no real request can have (no token)
        return ("invalid", url, -1)
    return (scheme, (parts.hostname or "").lower(), port)


@dataclass(eq=False)
class Route:
    """How to GET one file: ``url`` may redirect (307 resolve-cache, 302 signed CDN URL)."""

    source: str
    url: str
    client: httpx.Client = field(repr=False)
    token: str | None = field(default=None, repr=False)
    token_origin: Origin | None = None
    kind: RouteKind = "mirror"
    # The source listed the same hash as the reference (not only the same size): only such
    # routes may serve segments of one file together.
    strong: bool = True
    # The last redirect target (e.g. a signed CDN URL), reused by every segment until it
    # expires; then it is dropped and ``url`` resolved again.
    _location: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def scoped(
        cls,
        source: str,
        url: str,
        client: httpx.Client,
        *,
        kind: RouteKind,
        token: str | None,
        endpoint: str,
    ) -> Route:
        """A route whose token may go only to ``endpoint``'s origin (the host the user named).

        >>> r = Route.scoped("m", "https://m.example/x", httpx.Client(), kind="mirror",
        ...                  token="hf_x", endpoint="https://m.example")
        >>> r.headers_for("https://m.example/x"), r.headers_for("https://cdn.example/x")
        ({'authorization': 'Bearer hf_x'}, {})
        """
        origin = origin_of(endpoint) if token else None
        return cls(source, url, client, token=token, token_origin=origin, kind=kind)

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


@dataclass(frozen=True)
class FileJob:
    """One file to deliver and the ordered routes that can serve it."""

    file: RemoteFile
    routes: list[Route]
