"""The HF-protocol front of ``kuaidi serve``: a starlette app over :class:`ServeHub`.

Routes (``{t}`` = models | datasets): ``/api/{t}/{repo}[/revision/{rev}]``,
``/api/{t}/{repo}/tree/{rev}[/{path}]`` (paginated; ``Link`` to this server),
``POST /api/{t}/{repo}/paths-info/{rev}``, ``HEAD|GET /[datasets/]{repo}/resolve/{rev}/{path}``
answered here (no redirect, no Xet), plus the ModelScope front and the status page when their
modules are installed.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from kuaidi.errors import EntryNotFound, KuaidiError, RevisionNotFound
from kuaidi.model import Listing, RepoRef, unsafe_reason
from kuaidi.serve import protocol
from kuaidi.serve.config import ServeConfig
from kuaidi.serve.fill import BlobFile
from kuaidi.serve.hooks import Budget, Gate, NullBudget, NullStats, Stats
from kuaidi.serve.hub import ServeHub
from kuaidi.serve.ranges import parse_range

log = logging.getLogger("kuaidi.serve")

TYPES = {"models": "model", "datasets": "dataset"}
ACTIONS = ("revision", "tree", "paths-info")
PAGE, EXPAND_PAGE = 1000, 50
NOT_FOUND = "Sorry, we can't find the page you are looking for."


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _segments(request: Request) -> list[str]:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    return [unquote(s) for s in path.split("/")[1:]]


def _revision(rest: list[str]) -> tuple[str, list[str]]:
    """The revision at the head of ``rest`` (``refs/pr/N`` may come unquoted) and what follows."""
    if len(rest) >= 3 and rest[0] == "refs" and rest[1] in ("pr", "convert"):
        return "/".join(rest[:3]), rest[3:]
    return rest[0], rest[1:]


class HFFront:
    def __init__(self, hub: ServeHub) -> None:
        self.hub = hub

    async def handle(self, request: Request) -> Response:
        try:
            return await self._dispatch(request)
        except KuaidiError as exc:
            return protocol.error_response(exc, getattr(exc, "commit", None))

    async def _dispatch(self, request: Request) -> Response:
        segs = _segments(request)
        if len(segs) > 2 and segs[0] == "api" and segs[1] in TYPES:
            return await self.api(request, TYPES[segs[1]], segs[2:])
        repo_type = "model"
        if segs and segs[0] == "datasets":
            repo_type, segs = "dataset", segs[1:]
        for i in (1, 2):
            if len(segs) > i + 2 and segs[i] == "resolve" and request.method in ("GET", "HEAD"):
                rev, rest = _revision(segs[i + 1 :])
                return await self.resolve(request, repo_type, "/".join(segs[:i]), rev, rest)
        return protocol.hub_error(404, None, NOT_FOUND)

    def _repo(self, repo_type: str, repo_id: str, revision: str) -> RepoRef:
        parts = repo_id.split("/")
        if len(parts) > 2 or unsafe_reason(repo_id) or unsafe_reason(revision):
            raise RevisionNotFound(f"Invalid repo or revision: {repo_id!r} {revision!r}")
        return RepoRef(repo_id, "dataset" if repo_type == "dataset" else "model", revision)

    # -- /api ---------------------------------------------------------------------------------
    async def api(self, request: Request, repo_type: str, rest: list[str]) -> Response:
        split = next((i for i in (1, 2) if len(rest) > i and rest[i] in ACTIONS), None)
        if split is None:
            if len(rest) > 2 or request.method != "GET":
                return protocol.hub_error(404, None, NOT_FOUND)
            return await self.info(request, self._repo(repo_type, "/".join(rest), "main"))
        repo_id, action, tail = "/".join(rest[:split]), rest[split], rest[split + 1 :]
        if not tail:
            return protocol.hub_error(404, None, NOT_FOUND)
        rev, sub = _revision(tail)
        repo = self._repo(repo_type, repo_id, rev)
        if action == "revision" and request.method == "GET":
            return await self.info(request, repo)
        if action == "tree" and request.method == "GET":
            return await self.tree(request, repo, "/".join(sub).strip("/"))
        if action == "paths-info" and request.method == "POST":
            return await self.paths_info(request, repo)
        return protocol.hub_error(405, None, "Method not allowed")

    async def info(self, request: Request, repo: RepoRef) -> Response:
        listing = await self.hub.snapshot(repo, bearer(request))
        blobs = request.query_params.get("blobs", "").lower() == "true"
        body = protocol.repo_info(
            listing, gated=self.hub.gated(listing), blobs=blobs, tree=self.hub.tree(listing)
        )
        return JSONResponse(body)

    async def tree(self, request: Request, repo: RepoRef, sub: str) -> Response:
        listing = await self.hub.snapshot(repo, bearer(request))
        q = request.query_params
        recursive = q.get("recursive", "").lower() in ("true", "1")
        expand = q.get("expand", "").lower() in ("true", "1")
        items = protocol.tree_items(listing, sub, recursive=recursive, tree=self.hub.tree(listing))
        if items is None or any(f.path == sub for f in listing.files):
            exc = EntryNotFound(f'{sub} does not exist on "{repo.revision}"')
            return protocol.error_response(exc, listing.commit)
        size = EXPAND_PAGE if expand else PAGE
        start = int(q["cursor"]) if q.get("cursor", "").isdigit() else 0
        headers = {}
        if start + size < len(items):
            query = {k: v for k, v in q.items() if k != "cursor"}
            query["cursor"] = str(start + size)
            headers["Link"] = f'<{request.url.replace(query=urlencode(query))}>; rel="next"'
        return JSONResponse(items[start : start + size], headers=headers)

    async def paths_info(self, request: Request, repo: RepoRef) -> Response:
        listing = await self.hub.snapshot(repo, bearer(request))
        raw = (await request.body())[: 4 << 20]
        form: dict[str, Any] = parse_qs(raw.decode(errors="replace"), keep_blank_values=True)
        if not form and raw.strip().startswith(b"{"):
            import json

            with contextlib.suppress(ValueError):
                data = json.loads(raw)
                form = {k: v if isinstance(v, list) else [v] for k, v in data.items()}
        paths = [str(p) for p in form.get("paths", [])]
        return JSONResponse(protocol.paths_info(listing, paths, self.hub.tree(listing)))

    # -- /resolve -----------------------------------------------------------------------------
    async def resolve(
        self, request: Request, repo_type: str, repo_id: str, rev: str, rest: list[str]
    ) -> Response:
        repo = self._repo(repo_type, repo_id, rev)
        path = "/".join(rest)
        token = bearer(request)
        listing = await self.hub.snapshot(repo, token)
        if unsafe_reason(path):
            return protocol.hub_error(
                404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": listing.commit}
            )
        try:
            f = self.hub.find(listing, path)
        except EntryNotFound:
            return protocol.hub_error(
                404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": listing.commit}
            )
        headers = {
            "X-Repo-Commit": listing.commit,
            "ETag": f'"{f.etag}"',
            "Accept-Ranges": "bytes",
            "Content-Type": protocol.content_type(path),
            "Access-Control-Expose-Headers": "*",
        }
        if f.lfs:
            headers.update({"X-Linked-Etag": f'"{f.etag}"', "X-Linked-Size": str(f.size)})
        if request.method == "HEAD":  # from the listing, at once: no fill for a HEAD
            headers["Content-Length"] = str(f.size)
            return Response(b"", 200, headers=headers)
        span = parse_range(request.headers.get("range"), f.size)
        if span == "unsatisfiable":
            headers["Content-Range"] = f"bytes */{f.size}"
            return protocol.hub_error(416, None, "Requested range not satisfiable", headers)
        start, end = span if span is not None else (0, f.size)
        status = 200
        if span is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{f.size}"
        headers["Content-Length"] = str(end - start)
        if f.size == 0 or start == end:
            self.hub.store.target(repo, listing.commit)  # nothing to fill
            return Response(b"", status, headers=headers)
        reader = await self.hub.open(listing, path, token)
        body = self._body(listing, reader, self.hub.store.blob(repo, f), start, end)
        return StreamingResponse(body, status, headers=headers)

    async def _body(
        self, listing: Listing, reader: Any, blob: Path, start: int, end: int
    ) -> AsyncIterator[bytes]:
        sent = 0
        hit = isinstance(reader, BlobFile)
        try:
            with self.hub.budget.in_use(blob):
                async for chunk in reader.chunks(start, end):
                    sent += len(chunk)
                    yield chunk
        except KuaidiError as exc:
            # Raised on: the response must end unclean (connection reset), never look complete.
            log.warning("aborting a response of %s: %s", listing.repo.repo_id, exc.message)
            raise
        finally:
            self.hub.stats.served(listing.repo.repo_id, sent, hit=hit)


def server_info(config: ServeConfig, hub: ServeHub) -> Any:
    """The status page's view of the server (``serve.status.ServerInfo``)."""
    status = importlib.import_module("kuaidi.serve.status")
    src = hub.upstream.source_config
    return status.ServerInfo(
        endpoints=tuple(src.mirrors),
        modelscope=src.modelscope,
        proxy_scope=hub.upstream.scope.explain(src.origin),
        cache_dir=config.cache_dir,
        max_size=config.max_size,
        offline=config.offline,
        pins=config.pins,
    )


def build_app(
    config: ServeConfig,
    *,
    stats: Stats = NullStats(),  # noqa: B008 - stateless null forms
    budget: Budget = NullBudget(),  # noqa: B008
    gate: Gate | None = None,
) -> Starlette:
    """The server's ASGI app: the HF front, plus the ModelScope front and the status page."""
    hub = ServeHub(config, stats=stats, budget=budget, gate=gate)
    routes: list[BaseRoute] = []
    # The other fronts mount when their modules are installed (built beside this one).
    with contextlib.suppress(ImportError):
        routes += importlib.import_module("kuaidi.serve.modelscope").routes(hub, gate=gate)
    with contextlib.suppress(ImportError):
        status = importlib.import_module("kuaidi.serve.status")
        routes += status.routes(stats, server_info(config, hub))
    front = HFFront(hub)
    routes.append(Route("/{path:path}", front.handle, methods=["GET", "HEAD", "POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        hub.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.hub = hub
    return app
