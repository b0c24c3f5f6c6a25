"""ModelScope (魔搭) as a :class:`~kuaidi.model.Source`, via the REST API its SDK uses.

ModelScope is *not* an HF endpoint: its ids differ (``meta-llama/X`` ↔ ``LLM-Research/X``, see
:mod:`kuaidi.sources.idmap`), its branch is ``master`` (HF ``main`` is mapped), and its listing
gives a ``Sha256`` for every file — small ones too, where HF gives only a git blob sha1. Calls
(modelscope-protocol.md §3)::

    GET /api/v1/{models|datasets}/{o}/{n}/revisions               revision → commit
    GET /api/v1/models/{o}/{n}/repo/files?Revision=C&Recursive=True   files, Sha256 + Size
    GET /api/v1/datasets/{o}/{n}/repo/tree?Revision=C&Root=/&Recursive=True
        &PageNumber=N&PageSize=200                                    dataset files, paged
    GET /api/v1/models/{o}/{n}/repo?Revision=C&FilePath=P             the bytes (Range; may 302)

``RepoRef.repo_id`` is the *ModelScope* id here; the store still files the bytes under the HF id
(the ladder keeps both). The token goes to the endpoint's origin only (cookie ``m_session_id``
and ``Authorization: Bearer``, as the new SDK sends), never to the OSS CDN it redirects to.

For example::

    ms = ModelScopeSource("https://www.modelscope.cn", client)
    ms.list(RepoRef("LLM-Research/Meta-Llama-3-8B-Instruct")).files[0]
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from kuaidi.errors import KuaidiError, SourceUnavailable, UnsafeListing
from kuaidi.model import Listing, RepoRef, Route, RouteKind, safe_relpath
from kuaidi.net.auth import ScopedToken
from kuaidi.net.policy import default_policy
from kuaidi.sources.entries import PackedEntries, get_capped, valid_size

DEFAULT_ENDPOINT = "https://www.modelscope.cn"
MS_BRANCH = "master"
PAGE_SIZE = 200
MAX_PAGES = 5_000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")


def env_endpoint(environ: Mapping[str, str] | None = None) -> str:
    """The hub URL as the SDKs read it: ``MODELSCOPE_ENDPOINT`` (a URL), else
    ``MODELSCOPE_DOMAIN`` (a bare host: https), else www.modelscope.cn."""
    env = os.environ if environ is None else environ
    endpoint = env.get("MODELSCOPE_ENDPOINT") or env.get("MODELSCOPE_DOMAIN") or DEFAULT_ENDPOINT
    return (endpoint if "://" in endpoint else f"https://{endpoint}").rstrip("/")


def ms_revision(revision: str) -> str:
    """HF's default branch ``main`` is ModelScope's ``master``; anything else passes through."""
    return MS_BRANCH if revision in ("", "main") else revision


class ModelScopeSource:
    """A ModelScope hub (``www.modelscope.cn``, ``modelscope.ai``, the sim, a private deploy)."""

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        client: httpx.Client | None = None,
        token: str | None = None,
        *,
        name: str = "modelscope",
        retries: int = 3,
    ) -> None:
        if "://" not in endpoint:  # MODELSCOPE_DOMAIN style: a host only
            endpoint = f"https://{endpoint}"
        self.endpoint = endpoint.rstrip("/")
        if client is None:
            from kuaidi.net.client import make_client

            client = make_client()
        self.client = client
        self.name = name
        self.kind: RouteKind = "modelscope"
        self._auth = ScopedToken(token, self.endpoint) if token else None
        self._token = token
        self._retries = retries

    def __repr__(self) -> str:  # never the token
        return f"ModelScopeSource({self.endpoint!r}, name={self.name!r})"

    # -- HTTP ------------------------------------------------------------------------------
    def _headers(self, url: str) -> dict[str, str]:
        if self._auth is None or not self._auth.applies_to(url):
            return {}
        return {**self._auth.headers_for(url), "cookie": f"m_session_id={self._token}"}

    def _get(self, url: str) -> httpx.Response:
        """GET an API URL, retried by the one HTTP policy (:mod:`kuaidi.net.policy`)."""
        try:
            return default_policy().request(
                lambda: get_capped(self.client, url, self._headers(url), who=self.endpoint),
                url,
                retries=self._retries,
            )
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"cannot reach ModelScope at {self.endpoint}: {type(exc).__name__}: {exc}",
                fix="check the network, or --modelscope-endpoint / MODELSCOPE_ENDPOINT",
            ) from exc

    def _data(self, url: str, repo: RepoRef, what: str) -> Any:
        """The ``Data`` of an enveloped answer; KuaidiError naming the repo otherwise."""
        resp = self._get(url)
        if resp.status_code in (401, 403, 404):
            raise self._missing(repo, resp.status_code)
        try:
            body = resp.json()
        except ValueError as exc:
            raise KuaidiError(
                f"{self.endpoint} answered {what} for {repo.repo_id} with something not JSON "
                f"(HTTP {resp.status_code})",
                fix="check that the endpoint is a ModelScope hub",
                exit_code=1,
            ) from exc
        if resp.status_code != 200 or not isinstance(body, dict) or body.get("Code") != 200:
            message = body.get("Message") if isinstance(body, dict) else None
            raise KuaidiError(
                f"ModelScope {what} for {repo.repo_id} failed: HTTP {resp.status_code}"
                + (f", {message}" if message else ""),
                fix="retry later, or leave ModelScope out with --modelscope-endpoint none",
                exit_code=1,
            )
        return body.get("Data")

    def _missing(self, repo: RepoRef, status: int) -> KuaidiError:
        if status in (401, 403):
            if self._token:
                return KuaidiError(
                    f"ModelScope refused the token for {repo.repo_type} {repo.repo_id} "
                    f"(HTTP {status})",
                    fix="check MODELSCOPE_API_TOKEN (an expired or unknown token is refused)",
                )
            return KuaidiError(
                f"ModelScope {repo.repo_type} {repo.repo_id} needs a login (HTTP {status})",
                fix="set MODELSCOPE_API_TOKEN, or leave ModelScope out",
            )
        return KuaidiError(
            f"ModelScope has no {repo.repo_type} {repo.repo_id} (or it is private/gated)",
            fix="check the ModelScope id; gated models need an approved MODELSCOPE_API_TOKEN",
        )

    # -- Source ----------------------------------------------------------------------------
    def api_base(self, repo: RepoRef) -> str:
        return f"{self.endpoint}/api/v1/{repo.repo_type}s/{repo.repo_id}"

    def resolve_commit(self, repo: RepoRef) -> str:
        """The commit ``repo.revision`` names (``main`` → ``master``); the name if none is given."""
        revision = ms_revision(repo.revision)
        data = self._data(f"{self.api_base(repo)}/revisions", repo, "revisions")
        rev_map = (data or {}).get("RevisionMap", {}) if isinstance(data, dict) else {}
        for item in [*rev_map.get("Branches", []), *rev_map.get("Tags", [])]:
            if isinstance(item, dict) and item.get("Revision") == revision:
                commit = item.get("CommitId")
                return commit if isinstance(commit, str) and _HEX40.match(commit) else revision
        if _HEX40.match(revision):
            return revision  # a commit id: listing it will tell whether it exists
        raise KuaidiError(
            f"ModelScope {repo.repo_id} has no revision {revision!r}",
            fix="ModelScope's default branch is 'master'; check --revision",
        )

    def list(self, repo: RepoRef) -> Listing:
        """Every file of the revision with size and sha256 (and the git blob id when listed)."""
        commit = self.resolve_commit(repo)
        packed = PackedEntries(f"ModelScope at {self.endpoint}")
        if repo.repo_type == "dataset":
            self._list_dataset(repo, commit, packed)
        else:
            self._list_model(repo, commit, packed)
        return Listing(repo=repo, commit=commit, files=packed.files(), source=self.name)

    def _list_model(self, repo: RepoRef, commit: str, packed: PackedEntries) -> None:
        url = f"{self.api_base(repo)}/repo/files?Revision={quote_plus(commit)}&Recursive=True"
        data = self._data(url, repo, "the file list")
        files = data.get("Files") if isinstance(data, dict) else None
        if not isinstance(files, list):
            raise UnsafeListing(
                f"{self.endpoint} sent a file list without Files for {repo.repo_id}"
            )
        for entry in files:
            self._add_entry(packed, entry)

    def _list_dataset(self, repo: RepoRef, commit: str, packed: PackedEntries) -> None:
        for number in range(1, MAX_PAGES + 1):
            url = (
                f"{self.api_base(repo)}/repo/tree?Revision={quote_plus(commit)}&Root=/"
                f"&Recursive=True&PageNumber={number}&PageSize={PAGE_SIZE}"
            )
            data = self._data(url, repo, "the file tree")
            page = data.get("Files") if isinstance(data, dict) else None
            if not isinstance(page, list):
                raise UnsafeListing(f"{self.endpoint} sent a tree page without Files")
            for entry in page:
                self._add_entry(packed, entry)
            if len(page) < PAGE_SIZE:
                return
        raise UnsafeListing(
            f"the ModelScope tree of {repo.repo_id} does not end (>{MAX_PAGES} pages)",
            fix="the endpoint's paging is broken; leave ModelScope out",
        )

    def _add_entry(self, packed: PackedEntries, entry: Any) -> None:
        if not isinstance(entry, dict) or entry.get("Type") == "tree":
            return
        path = safe_relpath(entry.get("Path"))  # raises on traversal, absolute, NUL
        size = valid_size(entry.get("Size"), path, "ModelScope")
        sha256 = str(entry.get("Sha256") or "").lower() or None
        if sha256 is not None and not _HEX64.match(sha256):
            raise UnsafeListing(f"ModelScope listed {path!r} with a malformed Sha256")
        lfs = bool(entry.get("IsLFS"))
        # ``Id`` is the git blob id; for an LFS file it names the pointer, not the bytes.
        blob_id = str(entry.get("Id") or "").lower()
        git_sha1 = blob_id if not lfs and _HEX40.match(blob_id) else None
        packed.add(path, size, sha256=sha256, git_sha1=git_sha1, lfs=lfs)

    def file_url(self, repo: RepoRef, commit: str, path: str) -> str:
        """The download URL (``FilePath`` last, as the SDK sends it for datasets)."""
        query = f"Revision={quote_plus(commit)}&FilePath={quote_plus(path)}"
        if repo.repo_type == "dataset":
            query = f"Source=SDK&{query}"
        return f"{self.endpoint}/api/v1/{repo.repo_type}s/{quote(repo.repo_id)}/repo?{query}"

    def route(self, repo: RepoRef, commit: str, path: str) -> Route:
        """A transfer Route for one file; the token is scoped to this endpoint's origin."""
        url = self.file_url(repo, commit, path)
        return Route.scoped(
            self.name, url, self.client, kind=self.kind, token=self._token, endpoint=self.endpoint
        )
