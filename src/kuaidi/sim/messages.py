"""What a protocol app receives and returns, and the file-serving every protocol shares.

``Request`` / ``Response`` / ``FileBody`` are plain data; ``serve_file`` implements Range the way
CDNs do (206 / 416 / ignored / ModelScope's 200-with-Content-Range); ``json_response`` and
``text_response`` build bodies. The server core (:mod:`kuaidi.sim.server`) re-exports them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from kuaidi.sim.wire import FileBody

if TYPE_CHECKING:
    from kuaidi.sim.server import Host

__all__ = [
    "App",
    "FileBody",
    "Request",
    "Response",
    "expired_response",
    "json_response",
    "serve_file",
    "text_response",
]


@dataclass
class Request:
    """What a protocol app receives. ``path`` is percent-decoded and has no query."""

    method: str
    path: str
    raw_path: str  # as received, with the query
    query: dict[str, list[str]]
    headers: Message  # case-insensitive .get()
    body: bytes
    host: Host
    client: tuple[str, int]
    range_mode: str | None = None  # set by an ignore_range fault; serve_file obeys it

    @property
    def raw_segments(self) -> list[str]:
        """The path split on ``/`` BEFORE decoding (so ``refs%2Fpr%2F1`` stays one segment),
        each segment then decoded."""
        return [unquote(s) for s in urlsplit(self.raw_path).path.split("/")[1:]]

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def bearer(self) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header, if any."""
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None


@dataclass
class Response:
    """What an app returns. ``Content-Length`` is added from the body unless the app set it."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | FileBody | None = None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)


App = Callable[[Request], Response]


def json_response(obj: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """``obj`` as a JSON body with ``Content-Type: application/json``."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    return Response(status, [("Content-Type", "application/json; charset=utf-8"), *headers], body)


def text_response(
    text: str, status: int = 200, headers: Iterable[tuple[str, str]] = ()
) -> Response:
    """``text`` as a plain-text body."""
    return Response(
        status, [("Content-Type", "text/plain; charset=utf-8"), *headers], text.encode()
    )


def _parse_range(value: str, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """(first, last) of a single ``bytes=`` range; None if absent/malformed/multi (serve 200);
    "unsatisfiable" if it starts past the end."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_s, dash, last_s = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first_s == "":  # suffix range: the last N bytes
            n = int(last_s)
            if n <= 0:
                return "unsatisfiable"
            return (max(0, size - n), size - 1) if size else "unsatisfiable"
        first = int(first_s)
        last = int(last_s) if last_s else size - 1
    except ValueError:
        return None
    if first >= size:
        return "unsatisfiable"
    if last < first:
        return None
    return first, min(last, size - 1)


def serve_file(
    req: Request,
    path: Path,
    size: int,
    headers: Iterable[tuple[str, str]] = (),
    *,
    range_mode: str = "honour",
) -> Response:
    """Serve ``path`` (``size`` bytes), honouring Range like a CDN.

    * no Range → 200 with the whole file; one satisfiable range → 206 + ``Content-Range``;
    * a range starting past the end → 416 with ``Content-Range: bytes */size``;
    * ``range_mode="ignore"`` → 200 full body even for a ranged GET;
    * ``range_mode="chunked"`` → 200, chunked, no Content-Length, full body, Range or not;
    * ``range_mode="200-with-content-range"`` → status 200 but the ranged body and a correct
      ``Content-Range`` (live ModelScope does this).

    HEAD gets the same headers; the server core drops the body. An ``ignore_range`` fault on
    the host overrides ``range_mode`` via ``req.range_mode``.
    """
    mode = req.range_mode or range_mode
    base = [*headers]
    if mode == "honour":
        base.append(("Accept-Ranges", "bytes"))
    raw = req.headers.get("Range")
    if mode == "chunked":  # no length at all: the server core frames the body in chunks
        return Response(200, [*base, ("Transfer-Encoding", "chunked")], FileBody(path, 0, size))
    parsed = _parse_range(raw, size) if raw and mode != "ignore" else None
    if parsed == "unsatisfiable":
        return Response(416, [*base, ("Content-Range", f"bytes */{size}")], b"")
    if parsed is None:
        return Response(200, base, FileBody(path, 0, size))
    first, last = parsed
    crange = ("Content-Range", f"bytes {first}-{last}/{size}")
    code = 206 if mode == "honour" else 200
    return Response(code, [*base, crange], FileBody(path, first, last - first + 1))


def expired_response() -> Response:
    """What S3/OSS-style CDNs answer for an expired signed URL."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        "<Message>Request has expired</Message></Error>\n"
    )
    return Response(403, [("Content-Type", "application/xml")], body.encode())
