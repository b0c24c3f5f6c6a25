"""Who may read a repo through ``kuaidi serve``: the upstream hub decides, once per token and repo.

A repo the upstream shows anonymously, without ``gated``, is public: everyone is admitted. For a
gated or private repo a client is admitted only when the upstream accepts *that client's* token
for *that repo* — one ``HEAD …/resolve/main/<file>`` with the token, the answer cached under
``sha256(token)`` for ``ttl`` (a refusal for ``negative_ttl``, so a licence accepted a minute ago
starts working soon). The server's own token admits a client only with ``share_gated``: without
it an anonymous LAN user never borrows the operator's access.

Tokens are held only as their sha256 in memory, never logged or written, and sent only to the
configured upstream (``ScopedToken``; redirects are not followed). When the upstream cannot be
reached, the last answer is used even if expired (a lab keeps working through an outage); with
no answer at all the check raises :class:`~kuaidi.errors.SourceUnavailable`.

For example::

    gate = UpstreamGate("https://hf-mirror.com", token=server_token, share_gated=False)
    refusal = await gate.check(RepoRef("meta-llama/Llama-3.1-8B"), client_token)
    if refusal is not None:
        raise refusal            # GatedRepo / RepoNotFound / TokenRejected, as the Hub says
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from kuaidi.errors import GatedRepo, KuaidiError, RepoNotFound, SourceUnavailable, TokenRejected
from kuaidi.model import origin_of
from kuaidi.model.repo import RepoRef
from kuaidi.net.auth import ScopedToken
from kuaidi.net.client import make_client
from kuaidi.net.policy import RETRYABLE_STATUS, default_policy
from kuaidi.net.scope import ProxyScope

Visibility = Literal["public", "gated", "hidden"]  # hidden: private, or no such repo
Access = Literal["granted", "refused", "rejected"]  # rejected: the token itself is invalid
TTL = 600.0
NEGATIVE_TTL = 60.0
MAX_ENTRIES = 50_000  # tokens × repos; the oldest answers go first
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


@dataclass(frozen=True)
class _Seen:
    visibility: Visibility
    probe: str  # a file of the repo to ask about (the first sibling, else .gitattributes)


class _Cache(Generic[K, V]):
    """Answers with an expiry; an expired answer is still there for when upstream is down."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._items: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def fresh(self, key: K) -> V | None:
        item = self._items.get(key)
        return item[0] if item is not None and item[1] > self._clock() else None

    def stale(self, key: K) -> V | None:
        item = self._items.get(key)
        return item[0] if item is not None else None

    def put(self, key: K, value: V, ttl: float) -> None:
        self._items[key] = (value, self._clock() + ttl)
        self._items.move_to_end(key)
        while len(self._items) > MAX_ENTRIES:
            self._items.popitem(last=False)


class _Unreachable(Exception):
    """No answer from upstream (transport error or a retryable status after retries)."""


def fingerprint(token: str) -> str:
    """The only form in which the gate keeps a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class UpstreamGate:
    """:class:`~kuaidi.serve.hooks.Gate` backed by the HF-protocol ``endpoint`` (see the module
    doc). ``token`` is the server's own (``--token``); ``client`` defaults to
    :func:`kuaidi.net.make_client` over ``scope``."""

    def __init__(
        self,
        endpoint: str,
        *,
        token: str | None = None,
        share_gated: bool = False,
        scope: ProxyScope | None = None,
        client: httpx.Client | None = None,
        ttl: float = TTL,
        negative_ttl: float = NEGATIVE_TTL,
        retries: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.share_gated = share_gated
        self._token = token or None
        self._client = client if client is not None else make_client(scope)
        self._ttl, self._negative_ttl, self._retries = ttl, negative_ttl, retries
        self._seen: _Cache[tuple[str, str], _Seen] = _Cache(clock)
        self._access: _Cache[tuple[str, str, str], Access] = _Cache(clock)
        self._inflight: dict[object, asyncio.Future[Any]] = {}
        self._origin_host = urlsplit(self.endpoint).netloc or self.endpoint

    def __repr__(self) -> str:  # never the token
        return f"UpstreamGate({self.endpoint!r}, share_gated={self.share_gated})"

    # --- the Gate protocol -----------------------------------------------------------------

    async def admit(self, repo: RepoRef, token: str | None) -> bool:
        """Whether a client presenting ``token`` (None: anonymous) may read ``repo``."""
        return await self.check(repo, token) is None

    async def check(self, repo: RepoRef, token: str | None) -> KuaidiError | None:
        """None when admitted, else the error the Hub would give this client for ``repo``."""
        if not _REPO_ID.match(repo.repo_id) or ".." in repo.repo_id:
            # Never put a client's odd id into an upstream URL (with a token, at that).
            return RepoNotFound(f"{repo.repo_id!r} is not a repo id", fix="use org/name")
        seen = await self.visibility(repo)
        if seen.visibility == "public":
            return None
        own = await self._access_of(repo, seen, token) if token else None
        if own == "granted":
            return None
        lend = self.share_gated and self._token is not None and token != self._token
        if lend and self._token and await self._access_of(repo, seen, self._token) == "granted":
            return None
        return self._refusal(repo, seen.visibility, token, own)

    async def visibility(self, repo: RepoRef) -> _Seen:
        """How the upstream shows ``repo`` to anonymous users (cached)."""
        key = (repo.repo_type, repo.repo_id)
        found = self._seen.fresh(key)
        if found is not None:
            return found
        try:
            found = await self._once(("seen", key), lambda: self._ask_visibility(repo))
        except _Unreachable as exc:
            stale = self._seen.stale(key)
            if stale is not None:
                return stale
            raise self._unavailable(repo, exc) from None
        ttl = self._negative_ttl if found.visibility == "hidden" else self._ttl
        self._seen.put(key, found, ttl)
        return found

    # --- upstream questions ----------------------------------------------------------------

    async def _access_of(self, repo: RepoRef, seen: _Seen, token: str) -> Access:
        if any(c in token for c in "\r\n") or not token.isprintable():
            return "rejected"  # no header could carry it; never worth a request
        key = (fingerprint(token), repo.repo_type, repo.repo_id)
        cached = self._access.fresh(key)
        if cached is not None:
            return cached
        try:
            answer = await self._once(("access", key), lambda: self._ask_access(repo, seen, token))
        except _Unreachable as exc:
            stale = self._access.stale(key)
            if stale is not None:
                return stale
            raise self._unavailable(repo, exc) from None
        self._access.put(key, answer, self._ttl if answer == "granted" else self._negative_ttl)
        return answer

    async def _once(self, key: object, ask: Callable[[], Awaitable[T]]) -> T:
        """One upstream question per key at a time: concurrent askers share its answer."""
        pending = self._inflight.get(key)
        if pending is None:
            started: asyncio.Future[Any] = asyncio.ensure_future(ask())
            self._inflight[key] = started
            started.add_done_callback(lambda _: self._inflight.pop(key, None))
            pending = started
        # shield: one asker cancelled (its client went away) does not cancel the others' answer
        answer: T = await asyncio.shield(pending)
        return answer

    async def _ask_visibility(self, repo: RepoRef) -> _Seen:
        url = f"{self.endpoint}/api/{repo.repo_type}s/{repo.repo_id}"
        resp = await asyncio.to_thread(self._send, "GET", url, None)
        if resp.status_code in (401, 403, 404):
            return _Seen("hidden", ".gitattributes")
        if resp.status_code != 200:
            raise _Unreachable(f"HTTP {resp.status_code}")
        try:
            info = resp.json()
            gated = bool(info.get("gated")) or bool(info.get("private"))
            siblings = info.get("siblings") or []
            first = siblings[0].get("rfilename") if siblings else None
        except (ValueError, AttributeError, TypeError, IndexError):
            raise _Unreachable("repo info that is not the HF API's") from None
        probe = first if isinstance(first, str) and first else ".gitattributes"
        return _Seen("gated" if gated else "public", probe)

    async def _ask_access(self, repo: RepoRef, seen: _Seen, token: str) -> Access:
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        url = f"{self.endpoint}/{prefix}{repo.repo_id}/resolve/main/{quote(seen.probe)}"
        resp = await asyncio.to_thread(self._send, "HEAD", url, token)
        code = resp.headers.get("x-error-code", "")
        if resp.status_code < 400 or code in ("EntryNotFound", "RevisionNotFound"):
            return "granted"  # past the gate: the repo's own answer, not a refusal
        if resp.status_code == 401 and code not in ("GatedRepo", "RepoNotFound"):
            return "rejected"  # "Invalid credentials": the token, not the repo
        if resp.status_code in (401, 403, 404):
            return "refused"
        raise _Unreachable(f"HTTP {resp.status_code}")

    def _send(self, method: str, url: str, token: str | None) -> httpx.Response:
        """One request through the one retry policy; the token only to the endpoint's origin."""
        auth = ScopedToken(token, self.endpoint) if token else None

        def send() -> httpx.Response:
            return self._client.request(method, target, auth=auth, follow_redirects=False)

        target = url
        for _ in range(4):
            try:
                resp = default_policy().request(send, target, retries=self._retries)
            except httpx.HTTPError as exc:
                raise _Unreachable(type(exc).__name__) from None
            if resp.status_code in RETRYABLE_STATUS:
                raise _Unreachable(f"HTTP {resp.status_code}")
            location = resp.headers.get("location")
            # HEAD: a redirect of the probe file means the gate let us through. GET (the repo
            # info, anonymous): a renamed repo answers a relative 307 on the same origin.
            if method == "HEAD" or not location or not 300 <= resp.status_code < 400:
                return resp
            nxt = str(httpx.URL(target).join(location))
            if origin_of(nxt) != origin_of(self.endpoint):
                return resp
            target = nxt
        return resp

    # --- answers ---------------------------------------------------------------------------

    def _unavailable(self, repo: RepoRef, exc: Exception) -> SourceUnavailable:
        return SourceUnavailable(
            f"cannot check access to {repo.repo_id} with {self._origin_host} ({exc})",
            fix="retry when the upstream answers",
        )

    def _refusal(
        self, repo: RepoRef, visibility: Visibility, token: str | None, own: Access | None
    ) -> KuaidiError:
        kind = repo.repo_type
        if own == "rejected":
            return TokenRejected(
                f"the token was rejected by {self._origin_host} (invalid or expired)",
                fix="check HF_TOKEN / --token, or log in again with `hf auth login`",
            )
        if visibility == "hidden":
            return RepoNotFound(
                f"{kind} {repo.repo_id} not found (or private)",
                fix="check the repo id; for a private repo pass a token with access to it",
            )
        if token is None:
            return GatedRepo(
                f"Access to {kind} {repo.repo_id} is restricted. You must have access to it "
                "and be authenticated to access it. Please log in.",
                fix="pass your own HF token (HF_TOKEN) that was granted access",
            )
        return GatedRepo(
            f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized "
            "list.",
            fix=f"ask for access to {repo.repo_id} on the Hub, then retry with that token",
        )

    def close(self) -> None:
        self._client.close()
