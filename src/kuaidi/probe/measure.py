"""Measure one candidate: rounds of (TTFB request, inspection, ranged GET of a real artifact),
every request bounded by the probe's overall deadline.

Redirects are followed here, hop by hop, so the host that actually served the bytes is the one
credited (USTC's PyPI answers misses with a 302 to TUNA; HF mirrors 302 to a CDN). The client
never reads proxy variables: a mirror is measured on the direct route kuaidi uses for it.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from kuaidi import __version__
from kuaidi.net.client import make_client
from kuaidi.net.scope import ProxyScope
from kuaidi.probe.candidates import Candidate
from kuaidi.probe.freshness import SyncStatus, parse_status
from kuaidi.probe.steady import RateSampler, SamplePolicy
from kuaidi.probe.targets import Ask

MAX_REDIRECTS = 5


@dataclass
class Fetched:
    """One request's outcome after redirects."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    nbytes: int
    ttfb: float  # request start → first body byte (headers, for HEAD)
    transfer: float  # first body byte → last byte read
    first_len: int = 0  # bytes of the first chunk (they arrived at ``ttfb``, not during transfer)
    hops: list[str] = field(default_factory=list)


@dataclass
class Round:
    """One round of one candidate. ``failure`` is None for a good round."""

    ttfb: float | None = None
    throughput: float | None = None  # bytes per second on the ranged GET (steady.py)
    nbytes: int = 0
    seconds: float = 0.0  # how long the throughput sample read
    steady: bool = False  # the rate settled before the sample ended
    unsteady: str = ""  # why it did not ('' when steady)
    served_by: str | None = None
    failure: str | None = None  # down | http | not-index | timeout | error
    error: str = ""


@dataclass
class Measurement:
    """Everything measured for one candidate; ``verdict`` is set by :mod:`kuaidi.probe.rank`."""

    candidate: Candidate
    rounds: list[Round] = field(default_factory=list)
    version: str | None = None
    order: str = "version"
    problem: str | None = None
    sync: SyncStatus | None = None
    verdict: str = "ok"  # ok | stale | broken | not-index | down | timeout
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    def good(self) -> list[Round]:
        return [r for r in self.rounds if r.failure is None]

    @property
    def ttfb(self) -> float | None:
        # TTFB stands on its own: a round whose artifact failed still timed the index
        values = [r.ttfb for r in self.rounds if r.ttfb is not None and r.failure != "not-index"]
        return statistics.median(values) if values else None

    @property
    def throughput(self) -> float | None:
        values = [r.throughput for r in self.good() if r.throughput is not None]
        return statistics.median(values) if values else None

    @property
    def steady(self) -> bool | None:
        """True when every timed round's rate settled; None when no round was timed."""
        timed = [r for r in self.good() if r.throughput is not None]
        return all(r.steady for r in timed) if timed else None

    @property
    def unsteady(self) -> str:
        """Why the rate is not a steady one ('' when it is)."""
        reasons = [r.unsteady for r in self.good() if r.throughput is not None and not r.steady]
        return Counter(reasons).most_common(1)[0][0] if reasons else ""

    @property
    def failure_rate(self) -> float | None:
        if not self.rounds:
            return None
        return sum(1 for r in self.rounds if r.failure) / len(self.rounds)

    @property
    def served_by(self) -> str | None:
        hosts = Counter(r.served_by for r in self.rounds if r.served_by)
        return hosts.most_common(1)[0][0] if hosts else None


def _netloc(url: str) -> str:
    return urlsplit(url).netloc


def fetch(
    client: httpx.Client,
    ask: Ask,
    deadline: float,
    *,
    limit: int | None = None,
    sampler: RateSampler | None = None,
    request_timeout: float = 10.0,
) -> Fetched:
    """Send ``ask``, following redirects, reading at most ``limit`` body bytes (default: keep
    ``ask.keep``), or, with ``sampler``, until it says stop; never past ``deadline``."""
    url, hops = ask.url, []
    start = time.monotonic()
    limit = ask.keep if limit is None else limit
    for _ in range(MAX_REDIRECTS + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise httpx.ReadTimeout("the probe's time bound ran out")
        timeout = httpx.Timeout(min(request_timeout, remaining))
        request = client.build_request(ask.method, url, headers=dict(ask.headers), timeout=timeout)
        response = client.send(request, stream=True)
        try:
            location = response.headers.get("location")
            if response.is_redirect and location:
                hops.append(url)
                url = str(response.url.join(location))
                continue
            headed = time.monotonic()
            body, nbytes, first, first_len = bytearray(), 0, None, 0
            if ask.method != "HEAD":
                for chunk in response.iter_bytes():
                    if first is None:
                        first, first_len = time.monotonic(), len(chunk)
                    nbytes += len(chunk)
                    if len(body) < ask.keep:
                        body += chunk[: ask.keep - len(body)]
                    if sampler is not None:
                        if sampler.add(len(chunk)):
                            break
                    elif nbytes >= limit:
                        break
                    if time.monotonic() >= deadline:
                        if sampler is not None:
                            sampler.ended("deadline")
                        break
                else:
                    if sampler is not None:
                        sampler.ended()
            end = time.monotonic()
            first = first or headed
            return Fetched(
                url,
                response.status_code,
                response.headers,
                bytes(body),
                nbytes,
                first - start,
                end - first,
                first_len,
                hops,
            )
        finally:
            response.close()
    raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects from {ask.url}")


def _failure(exc: Exception, *, answered: bool) -> tuple[str, str]:
    """Round failure kind. Before the host ever answered, a refused, reset or dropped connection
    means unreachable (``down``); after, it is a failed transfer."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "down", "no connection (timed out)"
    if isinstance(exc, httpx.ProxyError):
        return "down", f"the proxy refused: {exc}"
    if isinstance(exc, httpx.ConnectError):
        return "down", f"cannot connect: {exc}"
    # read, write or close errors alike: which one a reset shows up as depends on timing
    if not answered and isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return "down", f"connection dropped before any answer: {exc or type(exc).__name__}"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", f"timed out: {exc}"
    return "error", f"{type(exc).__name__}: {exc}"


def read_status(client: httpx.Client, cand: Candidate, deadline: float) -> SyncStatus | None:
    """The candidate's own freshness feed, if it publishes one (errors: no feed)."""
    if not cand.status_url:
        return None
    try:
        got = fetch(
            client, Ask("GET", cand.status_url, keep=4 * 1024 * 1024), deadline, request_timeout=3
        )
        if got.status != 200:
            return None
        import json

        return parse_status(json.loads(got.body), cand.status_format, cand.status_name or "")
    except (httpx.HTTPError, ValueError):
        return None


def measure(
    cand: Candidate,
    target: Any,  # one of kuaidi.probe.targets' *Target classes
    result: Measurement,
    *,
    rounds: int,
    deadline: float,
    policy: SamplePolicy,
    request_timeout: float,
    proxy: str | None = None,
) -> Measurement:
    """Fill ``result`` (shared with the caller, so a run cut by the deadline keeps its rounds)."""
    headers = {"User-Agent": f"kuaidi/{__version__} (probe)"}
    # kuaidi's own client on the direct route (proxy variables are never read), or, with
    # ``proxy``, every hop through that proxy: the comparison chsrc-style probes cannot make
    client = (
        make_client(ProxyScope.direct(), headers=headers, follow_redirects=False)
        if proxy is None
        else httpx.Client(proxy=proxy, trust_env=False, headers=headers, follow_redirects=False)
    )
    with client:
        result.sync = read_status(client, cand, deadline)
        artifact: str | None = None
        for _ in range(rounds):
            if time.monotonic() >= deadline:
                break
            one = Round()
            answered = False
            try:
                got = fetch(client, target.first(cand), deadline, request_timeout=request_timeout)
                answered = True
                if got.status >= 400:
                    one.failure, one.error = "http", f"HTTP {got.status} on {got.url}"
                    result.rounds.append(one)
                    continue
                one.ttfb = got.ttfb
                seen = target.inspect(got.url, got.headers, got.body)
                if seen.problem:
                    one.failure, one.error = "not-index", seen.problem
                    result.problem = seen.problem
                    result.rounds.append(one)
                    continue
                result.version, result.order = seen.version, seen.order
                artifact = seen.artifact or artifact
                if artifact is None and hasattr(target, "artifact_url"):
                    artifact = target.artifact_url(cand)
                page = getattr(target, "artifact_page", lambda c: None)(cand)
                if artifact is None and page is not None:
                    listing = fetch(client, page, deadline, request_timeout=request_timeout)
                    artifact = target.artifact_from(listing.url, listing.headers, listing.body)
                if artifact is None:
                    missing = getattr(target, "artifact_package", "the artifact")
                    one.failure, one.error = "http", f"no file of {missing} to time"
                    result.rounds.append(one)
                    continue
                span = (("Range", f"bytes=0-{policy.max_bytes - 1}"),)
                sampler = RateSampler(policy)
                data = fetch(
                    client,
                    Ask("GET", artifact, span, keep=0),
                    deadline,
                    sampler=sampler,
                    request_timeout=request_timeout,
                )
                if data.status >= 400:
                    one.failure, one.error = (
                        "http",
                        f"HTTP {data.status} on the artifact {data.url}",
                    )
                elif data.nbytes == 0:
                    one.failure, one.error = "http", f"empty body from {data.url}"
                else:
                    one.nbytes, one.seconds = data.nbytes, sampler.seconds
                    one.throughput, one.steady = sampler.rate, sampler.steady
                    one.unsteady = sampler.why_unsteady()
                    one.served_by = _netloc(data.url)
            except httpx.HTTPError as exc:
                one.failure, one.error = _failure(exc, answered=answered)
            result.rounds.append(one)
    return result
