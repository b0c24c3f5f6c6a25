"""The ModelScope front of ``kuaidi serve``: the ``/api/v1`` routes the modelscope SDK uses,
answered from the same :class:`~kuaidi.serve.hooks.Hub` as the HF front.

A lab points ``MODELSCOPE_ENDPOINT=http://lab-server:PORT`` at the server; a ModelScope client
then gets the very blobs an HF client gets (same store, same fills). Routes (``{t}`` is
``models`` or ``datasets``; JSON shapes in :mod:`kuaidi.serve.ms_shapes`)::

    GET       /api/v1/{t}/{ns}/{name}                         info
    GET       /api/v1/{t}/{ns}/{name}/revisions               branch master
    GET       /api/v1/{t}/{ns}/{name}/repo/files?Revision&Recursive&Root
    GET       /api/v1/{t}/{ns}/{name}/repo/tree?…&PageNumber&PageSize
    GET|HEAD  /api/v1/{t}/{ns}/{name}/repo?Revision&FilePath  the bytes, Range → 206/416
    GET       /api/v1/repos/internalAccelerationInfo          404 (no Aliyun-internal OSS here)
    POST      /api/v1/login                                   the token back as m_session_id

Names: ModelScope's ``master`` is the Hub's ``main``; a ModelScope id is looked up on the Hub
as itself, then under the Hub orgs the id map (:mod:`kuaidi.sources.idmap`) sends to its org
(``LLM-Research/X`` → ``meta-llama/X``). The client's token (``Authorization: Bearer`` or the
``m_session_id`` cookie) goes to the Hub seam, which fills with it; given a
:class:`~kuaidi.serve.hooks.Gate`, the front also asks it before any listing is answered, so a
gated repo is never served to a ModelScope client the HF front would refuse.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from kuaidi.errors import (
    EntryNotFound,
    GatedRepo,
    HubAnswer,
    KuaidiError,
    RepoNotFound,
    RevisionNotFound,
    SourceUnavailable,
    TokenRejected,
)
from kuaidi.model.repo import Listing, RemoteFile, RepoRef, RepoType, unsafe_reason
from kuaidi.serve import ms_shapes as shapes
from kuaidi.serve.fill import BlobFile
from kuaidi.serve.gate import UpstreamGate
from kuaidi.serve.hooks import BlobReader, Gate, Hub
from kuaidi.serve.ranges import parse_range
from kuaidi.sources import idmap

_TYPES: dict[str, RepoType] = {"models": "model", "datasets": "dataset"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_PAGE = 10_000  # a PageSize beyond this is answered with this many entries
_PATH_CACHE = 64  # listings whose path → file map is kept


class MSError(Exception):
    """An answer in ModelScope's error shape (envelope with a business code)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: int = shapes.CODE_NOT_FOUND,
        *,
        size: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.size = size  # a 416's file size, for Content-Range: bytes */size

    def response(self) -> JSONResponse:
        body = shapes.envelope(None, code=self.code, message=self.message)
        headers = {"Content-Range": f"bytes */{self.size}"} if self.size is not None else None
        return JSONResponse(body, self.status, headers=headers)


def ms_error(exc: KuaidiError, what: str) -> MSError:
    """A Hub-seam error as the status ModelScope clients act on."""
    if isinstance(exc, TokenRejected):
        message = f"Authentication token does not exist, failed to access {what}"
        return MSError(403, message, shapes.CODE_UNAUTHORIZED)
    if isinstance(exc, GatedRepo):
        message = f"{what} is gated: pass a token the upstream hub granted access to it"
        return MSError(403, message, shapes.CODE_UNAUTHORIZED)
    if isinstance(exc, (RepoNotFound, RevisionNotFound, EntryNotFound)):
        return MSError(404, f"{what} does not exist ({exc.message})")
    if isinstance(exc, HubAnswer):
        return MSError(400, f"{what}: {exc.message}", 400)
    if isinstance(exc, SourceUnavailable):
        return MSError(503, f"{what}: upstream unavailable ({exc.message})", 503)
    return MSError(502, f"{what}: {exc.message}", 502)


def request_token(request: Request) -> str | None:
    """The client's token: ``Authorization: Bearer`` or the ``m_session_id`` cookie."""
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    raw = request.headers.get("cookie")
    if not raw:
        return None
    try:
        morsel = SimpleCookie(raw).get("m_session_id")
    except CookieError:
        return None
    return morsel.value if morsel is not None and morsel.value else None


def hub_revision(revision: str | None) -> str:
    """ModelScope's ``master`` (the default) is the Hub's ``main``; others pass as they are."""
    return "main" if not revision or revision == shapes.BRANCH else revision


def hub_ids(ms_id: str, ids: idmap.IdMap) -> list[str]:
    """Hub ids a ModelScope id may stand for: itself, then repo rules, then mapped orgs."""
    org, _, name = ms_id.partition("/")
    out = [ms_id]
    for rule in ids.rules:
        if ms_id in rule.ms and not any(c in rule.hf for c in "*?["):
            out.append(rule.hf)
    for hf_org, targets in ids.orgs.items():
        if any(t.lower() == org.lower() for t in targets):
            out.append(f"{hf_org}/{name}")
    return list(dict.fromkeys(out))


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single ``bytes=`` range, None to send it all (the serve-wide rules
    of :func:`kuaidi.serve.ranges.parse_range`); MSError(416) when it cannot be satisfied."""
    found = parse_range(header, size)
    if found == "unsatisfiable":
        raise MSError(416, f"range {header} cannot be satisfied ({size} bytes)", 416, size=size)
    return found


class ModelScopeFront:
    """Request handling (see the module doc); one per server."""

    def __init__(self, hub: Hub, ids: idmap.IdMap, gate: Gate | None = None) -> None:
        self.hub = hub
        self.gate = gate
        self.ids = ids
        # ModelScope id → the Hub id it was found under (small: one entry per repo asked for).
        self._found: dict[tuple[RepoType, str], str] = {}
        self._paths: OrderedDict[tuple[RepoRef, str, int], dict[str, RemoteFile]] = OrderedDict()

    # --- lookups ---------------------------------------------------------------------------

    async def listing(self, request: Request, revision: str | None = None) -> Listing:
        """The Hub's listing of the repo the URL names, at ``revision`` (default master)."""
        kind = _TYPES.get(request.path_params["kind"])
        ns, name = request.path_params["ns"], request.path_params["name"]
        ms_id = f"{ns}/{name}"
        if kind is None or not _NAME.match(ns) or not _NAME.match(name):
            raise MSError(404, f"no route for {request.url.path}")
        what = f"{kind} {ms_id}"
        token = request_token(request)
        rev = hub_revision(revision)
        known = self._found.get((kind, ms_id))
        candidates = [known] if known else hub_ids(ms_id, self.ids)
        missing: KuaidiError | None = None
        refused: KuaidiError | None = None
        for hf_id in candidates:
            ref = RepoRef(hf_id, kind, rev)
            try:
                if not await self.admitted(ref, token):
                    refused = refused or GatedRepo(f"{hf_id} needs a token the upstream accepts")
                    continue
                found = await self.hub.snapshot(ref, token)
            except RepoNotFound as exc:
                missing = exc
                continue
            except KuaidiError as exc:
                raise ms_error(exc, what) from exc
            if len(self._found) < 10_000:
                self._found[(kind, ms_id)] = hf_id
            return found
        last = refused or missing
        assert last is not None  # candidates is never empty
        raise ms_error(last, what)

    async def admitted(self, repo: RepoRef, token: str | None) -> bool:
        """Whether the gate lets this client see ``repo``. UpstreamGate's refusal is raised
        as the Hub would give it (RepoNotFound: the caller tries the next candidate); a plain
        Gate's False leaves that to the other candidates, then GatedRepo."""
        if self.gate is None:
            return True
        if isinstance(self.gate, UpstreamGate):
            refusal = await self.gate.check(repo, token)
            if refusal is not None:
                raise refusal
            return True
        return await self.gate.admit(repo, token)

    def file(self, listing: Listing, path: str) -> RemoteFile | None:
        key = (listing.repo, listing.commit, len(listing.files))
        by_path = self._paths.get(key)
        if by_path is None:
            by_path = {f.path: f for f in listing.files}
            self._paths[key] = by_path
            while len(self._paths) > _PATH_CACHE:
                self._paths.popitem(last=False)
        self._paths.move_to_end(key)
        return by_path.get(path)

    # --- routes ----------------------------------------------------------------------------

    async def info(self, request: Request) -> Response:
        listing = await self.listing(request, request.query_params.get("Revision"))
        ms_id = f"{request.path_params['ns']}/{request.path_params['name']}"
        return JSONResponse(shapes.envelope(shapes.model_info(listing, ms_id)))

    async def revisions(self, request: Request) -> Response:
        listing = await self.listing(request)
        return JSONResponse(shapes.envelope(shapes.revisions(listing)))

    async def files(self, request: Request) -> Response:
        q = request.query_params
        listing = await self.listing(request, q.get("Revision"))
        recursive = (q.get("Recursive") or "true").strip().lower() in ("true", "1", "yes")
        found = shapes.entries(listing, root=q.get("Root"), recursive=recursive)
        return JSONResponse(shapes.envelope({"Files": found}))

    async def tree(self, request: Request) -> Response:
        q = request.query_params
        try:
            number = max(1, int(q.get("PageNumber") or 1))
            size = min(MAX_PAGE, max(1, int(q.get("PageSize") or 100)))
        except ValueError:
            raise MSError(400, "PageNumber and PageSize must be integers", 400) from None
        listing = await self.listing(request, q.get("Revision"))
        recursive = (q.get("Recursive") or "true").strip().lower() in ("true", "1", "yes")
        found = shapes.entries(listing, root=q.get("Root"), recursive=recursive)
        page = found[(number - 1) * size : number * size]
        return JSONResponse(shapes.envelope({"Files": page}))

    async def download(self, request: Request) -> Response:
        q = request.query_params
        path = (q.get("FilePath") or "").lstrip("/")
        reason = unsafe_reason(path)
        if reason is not None:
            raise MSError(400, f"FilePath {path!r} is not a file path in a repo ({reason})", 400)
        listing = await self.listing(request, q.get("Revision"))
        f = self.file(listing, path)
        if f is None:
            raise MSError(404, f"file {path} does not exist in {listing.repo.repo_id}")
        span = byte_range(request.headers.get("range"), f.size)
        start, end = span or (0, f.size)
        name = quote(path.rsplit("/", 1)[-1])
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "ETag": f'"{f.etag}"',
            "Accept-Ranges": "bytes",
            "Content-Length": str(end - start),
        }
        if f.sha256:
            headers["X-Linked-ETag"] = f'"{f.sha256}"'
        status = 200
        if span is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{f.size}"
        if request.method == "HEAD" or start == end:  # from the listing: nothing to fill
            return Response(status_code=status, headers=headers)
        try:
            reader = await self.hub.open(listing, path, request_token(request))
        except KuaidiError as exc:
            raise ms_error(exc, f"file {path} of {listing.repo.repo_id}") from exc
        return StreamingResponse(self.body(listing, f, reader, start, end), status, headers=headers)

    async def body(
        self, listing: Listing, f: RemoteFile, reader: BlobReader, start: int, end: int
    ) -> AsyncIterator[bytes]:
        """The bytes, held against eviction and counted as the HF front does when the Hub is
        serve's own (its ``budget``, ``stats`` and ``store``); a plain Hub streams them bare.
        A fill that fails raises from ``chunks()``: the response is cut, never ended cleanly."""
        budget = getattr(self.hub, "budget", None)
        stats = getattr(self.hub, "stats", None)
        store = getattr(self.hub, "store", None)
        hold: AbstractContextManager[None] = nullcontext()
        if budget is not None and store is not None:
            hold = budget.in_use(store.blob(listing.repo, f))
        sent = 0
        try:
            with hold:
                async for chunk in reader.chunks(start, end):
                    sent += len(chunk)
                    yield chunk
        finally:
            if stats is not None:
                stats.served(listing.repo.repo_id, sent, hit=isinstance(reader, BlobFile))

    async def login(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        token = body.get("AccessToken") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n;, "):
            raise MSError(401, "invalid access token", shapes.CODE_UNAUTHORIZED)
        # The token is checked per repo, with the upstream, when it is used; the cookie only
        # hands it back to this client as the SDK expects.
        data = {"AccessToken": "", "Username": "kuaidi-serve", "Email": ""}
        response = JSONResponse(shapes.envelope(data))
        response.set_cookie("m_session_id", token, path="/", httponly=True)
        return response


Handler = Callable[[Request], Awaitable[Response]]


def _answering(handler: Handler) -> Handler:
    """Map MSError to its response (starlette's exception handlers are the app's, not ours)."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except MSError as exc:
            return exc.response()

    return run


async def _not_here(request: Request) -> Response:
    return MSError(404, "not found").response()


def routes(
    hub: Hub, *, gate: Gate | None = None, ids: idmap.IdMap | None = None
) -> list[BaseRoute]:
    """The ModelScope API over ``hub`` (and ``gate``, when the Hub does not gate itself);
    ``ids`` defaults to the built-in id map plus the user's."""
    front = ModelScopeFront(hub, ids if ids is not None else idmap.load(), gate)
    base = "/api/v1/{kind}/{ns}/{name}"
    table: list[tuple[str, Handler, list[str]]] = [
        ("/api/v1/repos/internalAccelerationInfo", _not_here, ["GET"]),
        ("/api/v1/login", front.login, ["POST"]),
        (base, front.info, ["GET"]),
        (base + "/revisions", front.revisions, ["GET"]),
        (base + "/repo/files", front.files, ["GET"]),
        (base + "/repo/tree", front.tree, ["GET"]),
        (base + "/repo", front.download, ["GET", "HEAD"]),
    ]
    out: list[BaseRoute] = [Route(p, _answering(h), methods=m) for p, h, m in table]
    return out


__all__ = ["MSError", "ModelScopeFront", "byte_range", "hub_ids", "request_token", "routes"]
