"""The one HTTP policy (kuaidi.net.policy) and how fetch and the listings use it."""

from __future__ import annotations

import email.utils
import threading
import time

import httpx
import pytest

from kuaidi.model import RepoRef, Route
from kuaidi.net.policy import (
    Backoff,
    HostGate,
    Policy,
    host_of,
    parse_ratelimit,
    parse_retry_after,
    server_delay,
)
from kuaidi.sources.hf import HFSource
from kuaidi.transfer.fetch import Expired, Fatal, FetchError, open_segment


@pytest.mark.parametrize(
    ("value", "want"),
    [("7", 7.0), ("0", 0.0), ("-3", 0.0), ("soon", None), ("", None), ("nan", None), (None, None)],
)
def test_retry_after_seconds(value: str | None, want: float | None) -> None:
    assert parse_retry_after(value) == want


def test_retry_after_http_date_never_raises() -> None:
    now = 1_445_412_480.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now - 10) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now + 10) == 0.0
    for junk in ("Wed, 99 Foo 2015 07:28:00 GMT", "Mon, 01 Jan 99999 00:00:00 GMT", "1e999x"):
        assert parse_retry_after(junk) is None


@pytest.mark.parametrize(
    ("headers", "want"),
    [
        ({"RateLimit": '"api";r=0;t=30'}, 30.0),  # IETF draft ≥ 07, hf-mirror style
        ({"RateLimit": '"api";r=12;t=30'}, None),
        ({"RateLimit": "limit=100, remaining=0, reset=7"}, 7.0),  # earlier drafts
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "5"}, 5.0),
        ({"RateLimit": '"api";r=0', "RateLimit-Policy": '"api";q=500;w=300'}, 300.0),
        ({"RateLimit": "garbage"}, None),
        ({}, None),
    ],
)
def test_ratelimit_headers(headers: dict[str, str], want: float | None) -> None:
    assert parse_ratelimit(headers) == want


def test_server_delay_takes_the_longer_of_both() -> None:
    assert server_delay({"retry-after": "2", "ratelimit": '"a";r=0;t=9'}) == 9.0


def test_the_host_gate_counts_a_burst_once_and_opens_on_success() -> None:
    gate = HostGate(Backoff(base=1.0, cap=8.0), seed=1)
    host = host_of("https://cdn.example/x")
    first = gate.failure(host)
    assert 0.5 <= first <= 1.0
    for _ in range(7):  # the other connections of the same burst: no longer wait
        assert gate.failure(host) <= first
    assert gate.remaining(host_of("https://other.example/")) == 0.0
    gate.success(host)
    assert gate._hosts[host].failures == 0
    assert gate.failure(host, 3.0) >= 3.0  # the server's word wins


def test_policy_retries_only_retryable_answers_and_honours_retry_after() -> None:
    calls: list[float] = []
    when = email.utils.formatdate(time.time() + 1, usegmt=True)

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(503, headers={"retry-after": when})  # an HTTP date
        return httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    url = "https://hub.example/api/x"
    resp = Policy(gate=HostGate(seed=0)).request(lambda: client.get(url), url, retries=5)
    assert resp.status_code == 404 and len(calls) == 2  # 404 is an answer: no retry
    assert calls[1] - calls[0] >= 0.0  # waited at the gate (the date may round down to 0 s)


def test_hf_listing_with_retry_after_as_a_date_does_not_raise() -> None:
    """Regression (issue 10 #15): ``Retry-After: <HTTP date>`` raised ValueError out of
    sources/hf.py, a traceback through the origin's listing."""
    when = email.utils.formatdate(time.time(), usegmt=True)
    n = {"calls": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        n["calls"] += 1
        if n["calls"] == 1:
            return httpx.Response(429, headers={"retry-after": when})
        return httpx.Response(200, json={"sha": "a" * 40})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    source = HFSource("https://hub.example", client, retries=2)
    assert source.resolve_commit(RepoRef("org/m")) == "a" * 40
    assert n["calls"] == 2


def _route(handler) -> Route:  # type: ignore[no-untyped-def]
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Route(source="hf", url="https://hub.example/org/m/resolve/c/w.bin", client=client)


def _open(route: Route) -> None:
    with open_segment(route, 0, 10, gate=HostGate(seed=0)):
        pass


def test_a_redirect_to_a_file_url_is_fatal_at_once() -> None:
    """Regression (#19): a ``file://`` redirect was retried 7 times."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"location": "file:///etc/passwd"})

    with pytest.raises(Fatal, match="non-HTTP"):
        _open(_route(handler))
    assert len(seen) == 1


def test_a_403_from_a_fresh_download_url_is_no_expiry_but_a_cached_one_is() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "hub.example":
            return httpx.Response(302, headers={"location": "https://cdn.example/b?sig=1"})
        return httpx.Response(403)

    route = _route(handler)
    with pytest.raises(Expired) as fresh:
        _open(route)
    assert fresh.value.fresh and fresh.value.retryable
    route.remember("https://cdn.example/b?sig=0")
    with pytest.raises(Expired) as cached:
        _open(route)
    assert not cached.value.fresh


@pytest.mark.parametrize(
    ("status", "headers", "kind"),
    [
        (401, {"x-error-code": "GatedRepo"}, "GatedRepo"),
        (403, {"x-error-code": "GatedRepo"}, "GatedRepo"),
        (401, {"x-error-message": "Invalid credentials in Authorization header"}, "TokenRejected"),
        (404, {"x-error-code": "EntryNotFound"}, "EntryNotFound"),
        (404, {}, "EntryNotFound"),
        (416, {}, "VerificationFailed"),
        (400, {}, "SourceUnavailable"),
    ],
)
def test_a_refusal_carries_its_errors_kind(status: int, headers: dict[str, str], kind: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers)

    with pytest.raises(FetchError) as exc:
        _open(_route(handler))
    assert not exc.value.retryable and exc.value.kind == kind


def test_a_503_waits_at_the_gate_for_every_connection() -> None:
    """Backoff is the host's: after one 503 with Retry-After, the next request to that host —
    from any thread — waits for it."""
    gate = HostGate(seed=0)
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        if len(times) == 1:
            return httpx.Response(503, headers={"retry-after": "1"})
        return httpx.Response(206, headers={"content-range": "bytes 0-9/10"}, content=b"x" * 10)

    route = _route(handler)
    with pytest.raises(FetchError), open_segment(route, 0, 10, gate=gate):
        pass

    def other() -> None:
        with open_segment(route, 0, 10, gate=gate):
            pass

    t = threading.Thread(target=other)
    t.start()
    t.join(10)
    assert times[1] - times[0] >= 0.95
