"""One HTTP exchange for one segment: redirects, status classification, Range checks.

``open_segment`` returns a streaming response positioned at ``seg.pos`` (206) or at byte 0
(200: the server ignored Range) and raises a :class:`FetchError` subclass otherwise, so the
engine decides retry / re-resolve / give up without knowing HTTP details.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from urllib.parse import urljoin

import httpx

from kuaidi.transfer.retry import RETRYABLE_STATUS, parse_retry_after
from kuaidi.transfer.route import Route

MAX_REDIRECTS = 10
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class FetchError(Exception):
    """A failed request for a segment; ``retryable`` says whether to try again."""

    retryable = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Expired(FetchError):
    """A redirect target (signed CDN URL) stopped working: resolve again, no backoff."""


class Fatal(FetchError):
    """Retrying cannot help (not found, forbidden, gated, file changed); ``kind`` names the
    Hub's answer as a kuaidi.errors class ("GatedRepo", "TokenRejected", …) when known."""

    retryable = False

    def __init__(self, message: str, retry_after: float | None = None, kind: str | None = None):
        super().__init__(message, retry_after)
        self.kind = kind


_ANSWERS = ("GatedRepo", "RepoNotFound", "RevisionNotFound", "EntryNotFound")


def _kind(resp: httpx.Response, sent_token: bool) -> str | None:
    code = resp.headers.get("x-error-code", "")
    if code in _ANSWERS:
        return code
    if resp.status_code == 401 and sent_token:
        return "TokenRejected"  # the Hub's bare 401 for an invalid or expired token
    return None


def _describe(resp: httpx.Response) -> str:
    code = resp.headers.get("x-error-code")
    msg = resp.headers.get("x-error-message")
    extra = ", ".join(x for x in (code, msg) if x)
    return f"HTTP {resp.status_code}" + (f" ({extra})" if extra else "")


def _drain(resp: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read a redirect's (small) body so httpx can return the connection to the pool; closing
    it unread drops the connection, and every small file then paid a new TCP connect."""
    size = resp.headers.get("content-length", "")
    if size.isdigit() and int(size) <= limit:
        with contextlib.suppress(httpx.HTTPError):
            resp.read()


@contextlib.contextmanager
def open_segment(route: Route, start: int, end: int) -> Iterator[tuple[httpx.Response, int]]:
    """Stream ``[start, end)`` of the route's file; yield ``(response, first byte offset)``."""
    cached = route.location
    url = cached or route.url
    for _ in range(MAX_REDIRECTS):
        headers = {"range": f"bytes={start}-{end - 1}", "accept-encoding": "identity"}
        headers.update(route.headers_for(url))
        try:
            cm = route.client.stream("GET", url, headers=headers, follow_redirects=False)
            resp = cm.__enter__()
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc
        try:
            status = resp.status_code
            if status in (301, 302, 303, 307, 308) and "location" in resp.headers:
                url = urljoin(url, resp.headers["location"])
                _drain(resp)  # a short body read to its end keeps the connection reusable
                continue
            if status == 206:
                got = _CONTENT_RANGE.match(resp.headers.get("content-range", ""))
                if not got or int(got.group(1)) != start:
                    raise FetchError(f"bad Content-Range {resp.headers.get('content-range')!r}")
                if url != route.url:
                    route.remember(url)
                yield resp, start
                return
            if status == 200:
                if url != route.url:
                    route.remember(url)
                yield resp, 0
                return
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            if status in (403, 410) and url != route.url:
                # Only the resolve URL decides access; anything it pointed us to that now
                # refuses is a signed URL past its expiry.
                route.forget(url)
                raise Expired(f"{_describe(resp)} from the download URL (expired signature?)")
            if status in RETRYABLE_STATUS:
                raise FetchError(_describe(resp), retry_after)
            if status == 416:
                raise Fatal(f"{_describe(resp)}: the server's file is smaller than listed")
            raise Fatal(_describe(resp), kind=_kind(resp, "authorization" in headers))
        finally:
            cm.__exit__(None, None, None)
    raise Fatal(f"more than {MAX_REDIRECTS} redirects")
