"""The Hugging Face protocol as a :class:`~kuaidi.model.Source` (mirrors and the Hub).

Listing resolves the revision to a commit once (skipped for a 40-hex commit), then walks
``/api/{type}s/{repo}/tree/{commit}?recursive=true&expand=false`` page by page. A ``Link: next``
pointing at another host (hf-mirror.com's bug) is rewritten to the endpoint in use, so the token
and the traffic stay where the user pointed them. Sizes and hashes come from the tree: no HEAD
per file. Every path is checked before it can reach the disk.

For example::

    src = HFSource("https://hf-mirror.com", client)
    listing = src.list(RepoRef("gpt2"))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from kuaidi.errors import (
    EntryNotFound,
    GatedRepo,
    KuaidiError,
    RepoNotFound,
    RevisionNotFound,
    SourceUnavailable,
    TokenRejected,
    UnsafeListing,
)
from kuaidi.model import Listing, RepoRef, Route, RouteKind, origin_of, safe_relpath
from kuaidi.net.policy import default_policy
from kuaidi.sources.entries import PackedEntries, get_capped, valid_size

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX40 = COMMIT_RE
MAX_PAGES = 10_000  # 10 M entries at 1000/page: beyond that a listing is hostile or looping


@dataclass(frozen=True)
class HFListing(Listing):
    """A Listing plus the raw tree entries huggingface_hub caches as ``trees/<commit>.json``
    (kept packed, made into dicts only when the tree cache is written)."""

    packed: PackedEntries | None = field(default=None, repr=False, compare=False)
    # The repo info's "gated" ("auto"/"manual" on the Hub): files need a granted token.
    gated: bool = False

    @property
    def tree(self) -> dict[str, dict[str, Any]]:
        return self.packed.tree() if self.packed is not None else {}


def _error(
    resp: httpx.Response, repo: RepoRef, what: str, *, endpoint: str, token_sent: bool
) -> KuaidiError:
    """A listing's non-200 as the errors.py kind it means, by status and ``X-Error-Code``."""
    code = resp.headers.get("x-error-code", "")
    host = urlsplit(endpoint).netloc or endpoint
    if code == "GatedRepo":
        return GatedRepo(
            f"{repo.repo_id} is gated: access needs an accepted licence and a token",
            fix="accept the licence on the Hub, then pass --token or set HF_TOKEN",
        )
    if code == "RevisionNotFound":
        return RevisionNotFound(
            f"revision {repo.revision!r} not found in {repo.repo_id}",
            fix="check --revision (branch, tag, refs/pr/N or 40-hex commit)",
        )
    if code == "EntryNotFound":
        return EntryNotFound(f"{what}: not found in {repo.repo_id}@{repo.revision}")
    if resp.status_code == 401 and token_sent and code != "RepoNotFound":
        # The Hub answers an invalid or expired token with a bare 401 ("Invalid credentials in
        # Authorization header") before it looks at the repo.
        return TokenRejected(
            f"token rejected by {host} (HTTP 401: invalid or expired)",
            fix="check HF_TOKEN / --token, or log in again with `hf auth login`",
        )
    if resp.status_code in (401, 404) or code == "RepoNotFound":
        return RepoNotFound(
            f"{repo.repo_type} {repo.repo_id} not found (or private) at {host}",
            fix="check the repo id and --repo-type; for a private or gated repo pass --token",
        )
    exit_code = 2 if resp.status_code in (400, 403) else None
    cls = KuaidiError if exit_code else SourceUnavailable
    return cls(
        f"{what} for {repo.repo_id} failed: HTTP {resp.status_code} from {host}",
        fix="check --endpoint and retry",
        exit_code=exit_code,
    )


class HFSource:
    """An HF-protocol endpoint (hf-mirror.com, a self-hosted mirror, the sim, the Hub)."""

    def __init__(
        self,
        endpoint: str,
        client: httpx.Client,
        token: str | None = None,
        *,
        name: str = "hf",
        retries: int = 4,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.client = client
        self.name = name
        self.kind: RouteKind = "mirror"  # the ladder's rung: OriginSource says "origin"
        self._token = token
        self._origin = origin_of(self.endpoint)
        self._retries = retries

    def __repr__(self) -> str:  # never show the token
        return f"HFSource({self.endpoint!r}, name={self.name!r})"

    # -- HTTP helpers ----------------------------------------------------------------------
    def _headers(self, url: str) -> dict[str, str]:
        if self._token and origin_of(url) == self._origin:
            return {"authorization": f"Bearer {self._token}"}
        return {}

    def _get(self, url: str) -> httpx.Response:
        """GET an API URL: same-host redirects followed (renamed repos), retried by the one
        HTTP policy (:mod:`kuaidi.net.policy`: 429/5xx, Retry-After, RateLimit, host backoff)."""

        def send() -> httpx.Response:
            target = url
            for _ in range(5):
                resp = get_capped(self.client, target, self._headers(target), who=self.endpoint)
                if resp.status_code in (301, 302, 307, 308) and "location" in resp.headers:
                    target = self._rebase(httpx.URL(target).join(resp.headers["location"]))
                    continue
                break
            return resp

        try:
            return default_policy().request(send, url, retries=self._retries)
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"cannot reach {self.endpoint}: {type(exc).__name__}: {exc}",
                fix="check the network or --endpoint / HF_ENDPOINT",
            ) from exc

    def _rebase(self, url: httpx.URL | str) -> str:
        """Point ``url`` at our endpoint (scheme, host, port) — for Link and redirect targets."""
        parts = urlsplit(str(url))
        base = urlsplit(self.endpoint)
        path = parts.path
        if base.path and base.path != "/" and not path.startswith(base.path):
            path = base.path.rstrip("/") + path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def _error(self, resp: httpx.Response, repo: RepoRef, what: str) -> KuaidiError:
        return _error(resp, repo, what, endpoint=self.endpoint, token_sent=bool(self._token))

    # -- Source ----------------------------------------------------------------------------
    def api_base(self, repo: RepoRef) -> str:
        return f"{self.endpoint}/api/{repo.repo_type}s/{repo.repo_id}"

    def resolve_commit(self, repo: RepoRef) -> str:
        """The commit a revision points at (no request for a 40-hex commit)."""
        return self._resolve(repo)[0]

    def _resolve(self, repo: RepoRef) -> tuple[str, bool]:
        """(commit, gated) from the repo info; for a 40-hex commit no request, gated unknown."""
        if COMMIT_RE.match(repo.revision):
            return repo.revision, False
        url = f"{self.api_base(repo)}/revision/{quote(repo.revision, safe='')}"
        resp = self._get(url)
        if resp.status_code != 200:
            raise self._error(resp, repo, "resolving the revision")
        try:
            info = resp.json()
            sha, gated = info["sha"], bool(info.get("gated"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KuaidiError(
                f"{self.endpoint} returned no commit for {repo.repo_id}@{repo.revision}",
                fix="the endpoint does not speak the HF API; check --endpoint",
                exit_code=1,
            ) from exc
        if not isinstance(sha, str) or not COMMIT_RE.match(sha):
            raise KuaidiError(f"{self.endpoint} returned a malformed commit {sha!r}", exit_code=1)
        return sha, gated

    def list(self, repo: RepoRef) -> HFListing:
        """Every file of the revision with size and hashes; unsafe paths refuse the listing."""
        commit, gated = self._resolve(repo)
        url: str | None = f"{self.api_base(repo)}/tree/{commit}?recursive=true&expand=false"
        packed = PackedEntries(self.endpoint)
        seen_pages: set[str] = set()
        while url is not None:
            if url in seen_pages or len(seen_pages) >= MAX_PAGES:
                raise UnsafeListing(
                    f"the tree listing of {repo.repo_id} does not end (page {len(seen_pages)})",
                    fix="the endpoint's pagination is broken; try another --endpoint",
                )
            seen_pages.add(url)
            resp = self._get(url)
            if resp.status_code != 200:
                raise self._error(resp, repo, "listing files")
            try:
                entries = resp.json()
            except ValueError as exc:
                raise UnsafeListing(f"{self.endpoint} sent a tree page that is not JSON") from exc
            if not isinstance(entries, list):
                raise UnsafeListing(f"{self.endpoint} sent a tree page that is not a list")
            for entry in entries:
                self._add_entry(packed, entry)
            nxt = resp.links.get("next", {}).get("url")
            del entries, resp  # one page at a time in memory
            url = self._rebase(nxt) if nxt else None
        files = packed.files()
        return HFListing(
            repo=repo, commit=commit, files=files, source=self.name, packed=packed, gated=gated
        )

    def _add_entry(self, packed: PackedEntries, entry: Any) -> None:
        if not isinstance(entry, dict) or entry.get("type") != "file":
            return
        path = safe_relpath(entry.get("path"))  # raises on traversal, absolute, NUL, "\"
        size = valid_size(entry.get("size"), path, self.endpoint)
        oid = entry.get("oid")
        blob = oid.lower() if isinstance(oid, str) and _HEX40.match(oid.lower()) else None
        lfs = entry.get("lfs")
        if isinstance(lfs, dict) and isinstance(lfs.get("oid"), str):
            sha256 = lfs["oid"].lower()
            if not _HEX64.match(sha256):
                raise UnsafeListing(f"the server listed {path!r} with a malformed sha256")
            xet = entry.get("xetHash")
            packed.add(
                path,
                size,
                sha256=sha256,
                lfs=True,
                blob_id=blob,
                lfs_size=valid_size(lfs.get("size", size), path, self.endpoint),
                xet_hash=xet.lower()
                if isinstance(xet, str) and _HEX64.match(xet.lower())
                else None,
            )
            return
        if blob is None:
            raise UnsafeListing(f"the server listed {path!r} without a valid git blob id")
        packed.add(path, size, git_sha1=blob, blob_id=blob)

    def file_url(self, repo: RepoRef, commit: str, path: str) -> str:
        """``{E}/{prefix}{repo}/resolve/{commit}/{path}`` (redirects to resolve-cache or a CDN)."""
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        return f"{self.endpoint}/{prefix}{repo.repo_id}/resolve/{commit}/{quote(path)}"

    def route(self, repo: RepoRef, commit: str, path: str) -> Route:
        """A transfer Route for one file; the token is scoped to this endpoint's origin."""
        url = self.file_url(repo, commit, path)
        return Route.scoped(
            self.name, url, self.client, kind=self.kind, token=self._token, endpoint=self.endpoint
        )
