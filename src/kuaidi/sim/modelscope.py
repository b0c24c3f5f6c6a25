"""A simulated ModelScope hub: the ``/api/v1`` REST routes the SDKs use, over plain HTTP.

Serves the repos of the sim's :class:`~kuaidi.sim.content.Catalog` that are published on
ModelScope (``RepoSpec.modelscope_id``; a ``modelscope_variant`` repo has its own bytes). Routes
(``{t}`` is ``models`` or ``datasets``; shapes in :mod:`kuaidi.sim.modelscope_api`)::

    GET  /api/v1/{t}/{owner}/{name}                      info, 200 or 404
    GET  /api/v1/{t}/{owner}/{name}/revisions[?EndTime]  RevisionMap{Branches, Tags}
    GET  /api/v1/{t}/{owner}/{name}/repo/files?Revision&Recursive&Root
    GET  /api/v1/datasets/{owner}/{name}/repo/tree?…&PageNumber&PageSize   (also /{Id}/)
    GET  /api/v1/{t}/{owner}/{name}/repo?Revision&FilePath               the file, Range
    GET  /models/{owner}/{name}/resolve/{rev}/{path}                      HF-style, Range
    GET  /api/v1/repos/internalAccelerationInfo                           404 (as emulators should)
    POST /api/v1/login  {"AccessToken": t}                                cookie m_session_id

Auth: cookie ``m_session_id`` or ``Authorization: Bearer``; a token the catalog does not know is
403; private and gated repos are 404 (``/revisions`` too) unless the token was granted access.
The branch is ``master``; HF's ``main`` is unknown here (404), as on ModelScope.

Host options:

``range_mode`` (``"honour"``)
    ``"200-with-content-range"`` is live ModelScope's answer to Range (also a core fault:
    ``ignore_range(mode=…)``); ``"ignore"`` sends the whole file with 200.
``redirect_lfs_to: <cdn host name>`` and ``redirect_min_size`` (0)
    LFS files of at least that size answer 302 to a signed CDN URL with ``X-Linked-ETag`` (if
    that host runs in this sim; otherwise the hub serves them). Off by default;
    :data:`OSS_REDIRECT` sends LFS files of 4 MiB and more to ``modelscope-cdn``.
``empty_bodies: {"path": glob, "rate": r, "times": n}`` (or ``true``)
    Answer file downloads with 200 and an empty body (modelscope#968), decided deterministically
    from the sim seed like every fault; :attr:`ModelScopeHub.empty_fired` counts them.
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote

from kuaidi.sim import modelscope_api as api
from kuaidi.sim.cdn import signed_url
from kuaidi.sim.content import Repo, RepoFile
from kuaidi.sim.faults import Faults, status
from kuaidi.sim.server import App, Host, Request, Response, json_response, serve_file

# Merged into every sim profile by kuaidi.sim.profiles. Live ModelScope sends large LFS files to
# OSS; the sim has that CDN host but redirects only when asked (option ``redirect_lfs_to``), so a
# profile's rate limits on "modelscope" keep shaping every byte unless a test opts in.
MODELSCOPE_HOSTS: dict[str, dict[str, Any]] = {
    "modelscope-cdn": {"protocol": "cdn", "options": {"url_ttl": 3600}},
}
# Overrides that turn the OSS redirect on, e.g. ``Sim("clean", overrides=OSS_REDIRECT)``.
OSS_REDIRECT: dict[str, dict[str, Any]] = {
    "modelscope": {"options": {"redirect_lfs_to": "modelscope-cdn", "redirect_min_size": 4 << 20}}
}

_TYPES = {"models": "model", "datasets": "dataset"}


def _error(http_status: int, message: str, code: int = api.CODE_NOT_FOUND) -> Response:
    return json_response(api.envelope(None, code=code, message=message), http_status)


def _not_found(what: str) -> Response:
    return _error(404, f"{what} does not exist")


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() in ("true", "1", "yes")


def request_token(req: Request) -> str | None:
    """The ModelScope token of a request: ``Authorization: Bearer`` or cookie ``m_session_id``."""
    bearer = req.bearer()
    if bearer:
        return bearer
    raw = req.headers.get("Cookie")
    if not raw:
        return None
    try:
        cookies = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = cookies.get("m_session_id")
    return morsel.value if morsel is not None and morsel.value else None


class ModelScopeHub:
    """Request handling of one simulated ModelScope host (see the module doc)."""

    def __init__(self, host: Host) -> None:
        self.host = host
        opts = host.options
        self.range_mode = str(opts.get("range_mode", "honour"))
        self.redirect_to: str | None = opts.get("redirect_lfs_to")
        self.redirect_min_size = int(opts.get("redirect_min_size", 0))
        empty = opts.get("empty_bodies")
        rules = []
        if empty:
            cfg: dict[str, Any] = empty if isinstance(empty, dict) else {}
            rules.append(
                status(
                    200,
                    path=str(cfg.get("path", "*")),
                    rate=float(cfg.get("rate", 1.0)),
                    times=cfg.get("times"),
                    methods=("GET",),
                )
            )
        seed = host.faults.seed if host.faults is not None else 0
        self._empty = Faults(rules, seed=seed, host=f"{host.name}/empty-bodies")

    @property
    def empty_fired(self) -> int:
        """How many empty 200 bodies were sent."""
        return self._empty.fired_count()

    @property
    def catalog(self) -> Any:
        if self.host.sim is None:
            raise RuntimeError(f"ModelScope host {self.host.name!r} needs a sim (its catalog)")
        return self.host.sim.catalog

    # --- routing ---------------------------------------------------------------------------

    def __call__(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            return self._api(req, parts[2:])
        if len(parts) >= 6 and parts[0] == "models" and parts[3] == "resolve":
            repo_id = f"{parts[1]}/{parts[2]}"
            return self._download(req, "model", repo_id, parts[4], "/".join(parts[5:]))
        return _error(404, f"no route for {req.path}")

    def _api(self, req: Request, parts: list[str]) -> Response:
        if parts == ["repos", "internalAccelerationInfo"]:
            return _error(404, "not found")
        if parts == ["login"]:
            return self._login(req)
        if len(parts) < 2 or parts[0] not in _TYPES:
            return _error(404, f"no route for {req.path}")
        repo_type = _TYPES[parts[0]]
        if repo_type == "dataset" and parts[1].isdigit() and parts[2:] == ["repo", "tree"]:
            found = self._by_numeric_id(parts[1])
            if found is None:
                return _not_found(f"dataset {parts[1]}")
            return self._with_repo(req, repo_type, found, ["repo", "tree"])
        if len(parts) < 3:
            return _error(404, f"no route for {req.path}")
        return self._with_repo(req, repo_type, f"{parts[1]}/{parts[2]}", parts[3:])

    def _with_repo(self, req: Request, repo_type: str, ms_id: str, rest: list[str]) -> Response:
        if req.method not in ("GET", "HEAD"):
            return _error(405, "method not allowed", code=405)
        repo = self._lookup(req, repo_type, ms_id)
        if isinstance(repo, Response):
            return repo
        if not rest:
            info = api.model_info if repo_type == "model" else api.dataset_info
            return json_response(api.envelope(info(repo, ms_id)))
        if rest == ["revisions"]:
            end = req.arg("EndTime")
            end_time = int(end) if end and end.isdigit() else None
            return json_response(api.envelope(api.revisions_data(repo, end_time)))
        if rest in (["repo", "files"], ["repo", "tree"]):
            return self._listing(req, repo, ms_id, paged=rest[1] == "tree")
        if rest == ["repo"]:
            return self._serve(req, repo, ms_id, req.arg("Revision"), req.arg("FilePath") or "")
        return _error(404, f"no route for {req.path}")

    def _download(self, req: Request, repo_type: str, ms_id: str, rev: str, path: str) -> Response:
        repo = self._lookup(req, repo_type, ms_id)
        if isinstance(repo, Response):
            return repo
        return self._serve(req, repo, ms_id, rev, path)

    # --- auth and lookup -------------------------------------------------------------------

    def _lookup(self, req: Request, repo_type: str, ms_id: str) -> Repo | Response:
        """The repo the request may see, or the error response ModelScope gives instead."""
        access = self.catalog.token_access(request_token(req))
        if access == "invalid":
            message = "Authentication token does not exist, failed to access model {}"
            return _error(403, message.format(ms_id), code=api.CODE_UNAUTHORIZED)
        repo = self.catalog.modelscope(repo_type, ms_id)
        if repo is None:
            return _not_found(f"{repo_type} {ms_id}")
        hidden = repo.spec.private or bool(repo.spec.gated)
        if hidden and access != "granted":
            # ModelScope answers 404, not 403, until the user is approved (inference#1142).
            return _not_found(f"{repo_type} {ms_id}")
        return repo

    def _by_numeric_id(self, numeric: str) -> str | None:
        for repo in self.catalog.repos:
            ms_id = repo.spec.modelscope_id
            if (
                repo.repo_type == "dataset"
                and ms_id
                and str(api.numeric_id("dataset", ms_id)) == numeric
            ):
                return ms_id
        return None

    def _login(self, req: Request) -> Response:
        if req.method != "POST":
            return _error(405, "method not allowed", code=405)
        try:
            token = json.loads(req.body or b"{}").get("AccessToken")
        except (ValueError, AttributeError):
            token = None
        if self.catalog.token_access(token) in ("none", "invalid"):
            return _error(401, "invalid access token", code=api.CODE_UNAUTHORIZED)
        data = {"AccessToken": "git-sim-token", "Username": "kuaidi-sim", "Email": "sim@local"}
        cookie = ("Set-Cookie", f"m_session_id={token}; Path=/; HttpOnly")
        return json_response(api.envelope(data), headers=[cookie])

    # --- listing and files -----------------------------------------------------------------

    def _listing(self, req: Request, repo: Repo, ms_id: str, *, paged: bool) -> Response:
        commit = api.resolve(repo, req.arg("Revision"))
        if commit is None:
            return _not_found(f"revision {req.arg('Revision')} of {ms_id}")
        entries = api.listing(
            commit,
            root=(req.arg("Root") or "").strip("/") or None,
            recursive=_flag(req.arg("Recursive"), True),
        )
        if paged:
            try:
                number = max(1, int(req.arg("PageNumber") or 1))
                size = max(1, int(req.arg("PageSize") or 100))
            except ValueError:
                return _error(400, "PageNumber and PageSize must be integers", code=400)
            entries = entries[(number - 1) * size : number * size]
        return json_response(api.envelope({"Files": entries}))

    def _serve(self, req: Request, repo: Repo, ms_id: str, rev: str | None, path: str) -> Response:
        commit = api.resolve(repo, rev)
        if commit is None:
            return _not_found(f"revision {rev} of {ms_id}")
        f: RepoFile | None = commit.files.get(path.lstrip("/"))
        if f is None:
            return _not_found(f"file {path} in {ms_id}@{rev or api.BRANCH}")
        name = quote(f.path.rsplit("/", 1)[-1])
        linked = [("ETag", f'"{f.etag}"')]
        if f.lfs:
            linked.append(("X-Linked-ETag", f'"{f.sha256}"'))
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Disposition", f"attachment; filename*=UTF-8''{name}"),
            *linked,
        ]
        range_header = req.headers.get("Range")
        if self._empty.decide(frozenset({"status"}), req.method, req.path, range_header):
            return Response(200, headers, b"")
        cdn = self._cdn()
        if cdn is not None and f.lfs and f.size >= self.redirect_min_size:
            location = signed_url(cdn, f.sha256, f.path)
            extra = [("Location", location), ("X-Linked-Size", str(f.size))]
            return Response(302, [*extra, *linked])
        return serve_file(req, f.blob_path, f.size, headers, range_mode=self.range_mode)

    def _cdn(self) -> Host | None:
        # A sim started with a subset of hosts may lack the CDN: then the hub serves everything.
        sim = self.host.sim
        if not self.redirect_to or sim is None:
            return None
        return sim.hosts.get(self.redirect_to)


def make_app(host: Host) -> App:
    """The ModelScope app for ``host``; repos come from ``host.sim.catalog``."""
    return ModelScopeHub(host)
