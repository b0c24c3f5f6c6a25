"""One HTTP exchange for one segment: redirects, status classification, Range checks.

``open_segment`` returns a streaming response positioned at ``seg.pos`` (206) or at byte 0
(200: the server ignored Range) and raises a :class:`FetchError` otherwise, so the engine
decides retry / re-resolve / give up without knowing HTTP details. Every request waits at the
host's gate and reports to it (:mod:`kuaidi.net.policy`), as the listings do.

A :class:`FetchError` is a :class:`~kuaidi.errors.KuaidiError` that *carries* the kind it
would be if the file failed on it (``kind``: ``"GatedRepo"``, ``"EntryNotFound"``,
``"SourceUnavailable"`` …), so ``FileOutcome.kind`` comes from the one exception tree.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from urllib.parse import urljoin, urlsplit

import httpx

from kuaidi import errors
from kuaidi.model import Route
from kuaidi.net.policy import RETRYABLE_STATUS, HostGate, host_of, server_delay, transient

MAX_REDIRECTS = 10
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_ANSWERS: dict[str, type[errors.KuaidiError]] = {
    "GatedRepo": errors.GatedRepo,
    "RepoNotFound": errors.RepoNotFound,
    "RevisionNotFound": errors.RevisionNotFound,
    "EntryNotFound": errors.EntryNotFound,
}
_BAD_TOKEN = ("invalid credentials", "invalid token", "token is expired", "invalid username")


class FetchError(errors.KuaidiError):
    """A failed request for a segment; ``retryable`` says whether to try again."""

    retryable = True
    exit_code = 1

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        answer: type[errors.KuaidiError] = errors.SourceUnavailable,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.answer = answer

    @property
    def kind(self) -> str:
        """The :mod:`kuaidi.errors` class the file's failure is reported as."""
        return self.answer.__name__


class Expired(FetchError):
    """A redirect target (signed CDN URL) refused: resolve again. ``fresh``: the resolve had
    just produced it, so this is not an expiry but a refusal (counted, backed off)."""

    def __init__(self, message: str, *, fresh: bool) -> None:
        super().__init__(message)
        self.fresh = fresh


class Fatal(FetchError):
    """Retrying cannot help (not found, forbidden, gated, file changed)."""

    retryable = False


def _describe(resp: httpx.Response) -> str:
    code = resp.headers.get("x-error-code")
    msg = resp.headers.get("x-error-message")
    extra = ", ".join(x for x in (code, msg) if x)
    return f"HTTP {resp.status_code}" + (f" ({extra})" if extra else "")


def _drain(resp: httpx.Response, limit: int = 64 * 1024) -> str:
    """Read a (small) body so httpx can return the connection to the pool; closing it unread
    drops the connection, and every small file then paid a new TCP connect. Returns the text."""
    size = resp.headers.get("content-length", "")
    if size.isdigit() and int(size) <= limit:
        with contextlib.suppress(httpx.HTTPError):
            resp.read()
            return resp.text
    return ""


def _answer(resp: httpx.Response, body: str, *, token_sent: bool) -> type[errors.KuaidiError]:
    """The kind of a definite refusal, from the HF headers (and a short body)."""
    code = resp.headers.get("x-error-code", "")
    if code in _ANSWERS:
        return _ANSWERS[code]
    text = f"{resp.headers.get('x-error-message', '')} {body[:2000]}".lower()
    if resp.status_code in (401, 403) and any(m in text for m in _BAD_TOKEN):
        return errors.TokenRejected
    if resp.status_code == 401 and token_sent:
        return errors.TokenRejected  # the Hub's bare 401 for an invalid or expired token
    if resp.status_code == 401:
        return errors.RepoNotFound
    if resp.status_code == 404:
        return errors.EntryNotFound
    if resp.status_code == 403 and "gated" in text:
        return errors.GatedRepo
    if resp.status_code == 416:
        return errors.VerificationFailed
    return errors.SourceUnavailable


def _range_start(resp: httpx.Response) -> int | None:
    got = _CONTENT_RANGE.match(resp.headers.get("content-range", ""))
    return int(got.group(1)) if got else None


def is_partial(resp: httpx.Response) -> bool:
    """The response is the asked range: a 206, or a 200 whose Content-Range says so
    (ModelScope's answer to Range); a plain 200 is the whole file from byte 0."""
    return resp.status_code == 206 or (resp.status_code == 200 and _range_start(resp) is not None)


@contextlib.contextmanager
def open_segment(
    route: Route,
    start: int,
    end: int,
    *,
    gate: HostGate,
    stop: Callable[[], bool] = lambda: False,
    beat: Callable[[], None] = lambda: None,
) -> Iterator[tuple[httpx.Response, int]]:
    """Stream ``[start, end)`` of the route's file; yield ``(response, first byte offset)``."""
    cached = route.location
    url = cached or route.url
    fresh = False  # ``url`` came from a redirect in this very call
    for _ in range(MAX_REDIRECTS):
        if urlsplit(url).scheme not in ("http", "https"):
            raise Fatal(f"redirected to a non-HTTP URL {url.split('?')[0]!r}")
        host = host_of(url)
        gate.wait(host, stop=stop, beat=beat)
        headers = {"range": f"bytes={start}-{end - 1}", "accept-encoding": "identity"}
        headers.update(route.headers_for(url))
        try:
            cm = route.client.stream("GET", url, headers=headers, follow_redirects=False)
            resp = cm.__enter__()
        except httpx.HTTPError as exc:
            if not transient(exc):
                raise Fatal(f"{type(exc).__name__}: {exc}") from exc
            gate.failure(host)
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc
        try:
            status = resp.status_code
            wait = server_delay(resp.headers)
            if status in (301, 302, 303, 307, 308) and "location" in resp.headers:
                gate.success(host, wait)
                url, fresh = urljoin(url, resp.headers["location"]), True
                _drain(resp)  # a short body read to its end keeps the connection reusable
                continue
            if status in (200, 206):
                gate.success(host, wait)
                if url != route.url:
                    route.remember(url)
            if is_partial(resp):  # a 206, or ModelScope's 200 with a Content-Range
                if _range_start(resp) != start:
                    raise FetchError(f"bad Content-Range {resp.headers.get('content-range')!r}")
                yield resp, start
                return
            if status == 200:
                yield resp, 0
                return
            if status in RETRYABLE_STATUS:
                gate.failure(host, wait)
                if url != route.url:
                    route.remember(url)  # the signed URL is fine, the CDN is busy: no re-resolve
                raise FetchError(_describe(resp), wait)
            gate.success(host, wait)  # an answer, not an outage
            body = _drain(resp)
            if status in (403, 410) and url != route.url:
                # Only the resolve URL decides access; anything it pointed us to that now
                # refuses is a signed URL past its expiry — or, fresh from the resolve, a CDN
                # that refuses us (bounded by the engine).
                route.forget(url)
                raise Expired(f"{_describe(resp)} from the download URL", fresh=fresh)
            if status == 416:
                raise Fatal(
                    f"{_describe(resp)}: the server's file is smaller than listed",
                    answer=errors.VerificationFailed,
                )
            answer = _answer(resp, body, token_sent="authorization" in headers)
            raise Fatal(_describe(resp), answer=answer)
        finally:
            cm.__exit__(None, None, None)
    raise Fatal(f"more than {MAX_REDIRECTS} redirects")
