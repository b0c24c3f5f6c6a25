"""The Hugging Face Hub protocol, as huggingface_hub, hfd.sh and aria2c see it (hf-protocol.md).

Routes (``{t}`` = ``models`` | ``datasets``; revisions may be quoted: ``refs%2Fpr%2F1``)::

    GET  /api/{t}/{repo}[/revision/{rev}][?blobs=true]   repo info (id, sha, siblings, gated…)
    GET  /api/{t}/{repo}/tree/{rev}[/{path}]?recursive=&expand=&cursor=   paginated, Link: next
    POST /api/{t}/{repo}/paths-info/{rev}                form paths=…; missing paths omitted
    GET  /api/{t}/{repo}/treesize/{rev}[/{path}]         {"path", "size"}
    GET  /api/{t}/{repo}/refs                            branches and tags
    GET  /api/{t}/{repo}/xet-read-token/{rev}            points at an unreachable CAS
    HEAD|GET /[datasets/]{repo}/resolve/{rev}/{path}     307 → /api/resolve-cache/… (small)
                                                         302 → CDN signed URL (LFS)
    HEAD|GET /api/resolve-cache/{t}/{repo}/{commit}/{path}

Host options: ``cdn`` (host name LFS redirects go to; absent = serve LFS bytes directly),
``page_size`` (tree page, default 1000; 50 with expand), ``link_host`` (a DIFFERENT host's base
URL in the tree ``Link``: hf-mirror's pagination bug), ``xet`` (send Xet headers/hashes),
``lacks`` (repo-id globs this host does not have), ``stale`` ({repo-id glob: k}: ``main`` lags k
commits), ``range_mode``, ``referer_trap`` (a foreign ``Referer`` on /resolve/ gets a 200 HTML
page, as on hf-mirror.com). A hostile server, for the client's defences: ``extra_tree``
({repo-id glob: [entries]} appended verbatim to the repo's tree listing: traversal, absolute or
NUL paths, reserved names) and ``loop_cursor`` (every page after the first links back to the
second: a cursor that never ends).

Errors as the Hub sends them: ``X-Error-Code`` RepoNotFound (401, or 404 with a valid token),
GatedRepo (401 without token, 403 not granted), RevisionNotFound / EntryNotFound (404; the latter
with ``X-Repo-Commit``), all with ``X-Error-Message``. A renamed repo answers a relative 307.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from urllib.parse import quote, urlencode

from kuaidi.sim.cdn import signed_url
from kuaidi.sim.content import Commit, Repo
from kuaidi.sim.hf_api import (
    UNREACHABLE_CAS,
    content_type,
    cursor_offset,
    dir_entry,
    file_entry,
    files_under,
    hf_error,
    make_cursor,
    refs_body,
    repo_info,
    tree_entries,
    xet_hash,
    xet_token,
)
from kuaidi.sim.server import App, Host, Request, Response, json_response, serve_file

TYPES = {"models": "model", "datasets": "dataset"}
URL_PREFIX = {"model": "", "dataset": "datasets/"}
ACTIONS = ("revision", "tree", "paths-info", "treesize", "refs", "xet-read-token")
HEX40 = re.compile(r"^[0-9a-f]{40}$")


class HubApp:
    """The HF app of one host. ``make_app(host)`` is the factory the Sim calls."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.options = host.options

    @property
    def catalog(self):
        assert self.host.sim is not None
        return self.host.sim.catalog

    # --- entry -----------------------------------------------------------------------------
    def __call__(self, req: Request) -> Response:
        segs = req.raw_segments
        if segs and segs[0] == "api":
            if len(segs) > 2 and segs[1] == "resolve-cache" and segs[2] in TYPES:
                return self.resolve_cache(req, TYPES[segs[2]], segs[3:])
            if len(segs) > 2 and segs[1] in TYPES:
                return self.api(req, TYPES[segs[1]], segs[2:])
            if segs[1:] == ["whoami-v2"]:
                return self.whoami(req)
            return hf_error(404, None, "Sorry, we can't find the page you are looking for.")
        repo_type = "model"
        if segs and segs[0] == "datasets":
            repo_type, segs = "dataset", segs[1:]
        for i in (1, 2):
            if len(segs) > i + 1 and segs[i] == "resolve":
                return self.resolve(req, repo_type, "/".join(segs[:i]), segs[i + 1 :])
        return hf_error(404, None, "Sorry, we can't find the page you are looking for.")

    # --- lookup and auth -------------------------------------------------------------------
    def lookup(self, req: Request, repo_type: str, repo_id: str) -> Repo | Response:
        """The repo if this host has it and the caller may see it; else the Hub's error."""
        access = self.catalog.token_access(req.bearer())
        if access == "invalid":
            return hf_error(401, None, "Invalid credentials in Authorization header")
        repo = self.catalog.get(repo_type, repo_id)
        if repo is None:
            new_id = self.catalog.renamed(repo_type, repo_id)
            if new_id and not self._lacks(new_id):
                return self._renamed(req, repo_id, new_id)
        if repo is None or self._lacks(repo_id) or (repo.spec.private and access != "granted"):
            status = 404 if access in ("user", "granted") else 401
            return hf_error(status, "RepoNotFound", "Repository not found")
        return repo

    def _lacks(self, repo_id: str) -> bool:
        return any(fnmatchcase(repo_id, g) for g in self.options.get("lacks", ()))

    def _renamed(self, req: Request, old: str, new: str) -> Response:
        raw = req.raw_path
        quoted_old = quote(old)
        location = raw.replace(f"/{quoted_old}/", f"/{quote(new)}/", 1)
        if location == raw and raw.split("?")[0].endswith(f"/{quoted_old}"):
            path, sep, query = raw.partition("?")
            location = path[: -len(quoted_old)] + quote(new) + sep + query
        text = f"Temporary Redirect. Redirecting to {location}"
        return Response(
            307, [("Location", location), ("Content-Type", "text/plain")], text.encode()
        )

    def gate(self, req: Request, repo: Repo) -> Response | None:
        """Gated repos need a granted token for file bytes."""
        if not repo.spec.gated:
            return None
        access = self.catalog.token_access(req.bearer())
        kind = repo.repo_type
        if access == "none":
            msg = (
                f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and be"
                " authenticated to access it. Please log in."
            )
            return hf_error(401, "GatedRepo", msg)
        if access != "granted":
            msg = (
                f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized"
                f" list. Visit https://huggingface.co/{repo.repo_id} to ask for access."
            )
            return hf_error(403, "GatedRepo", msg)
        return None

    def commit(self, repo: Repo, revision: str) -> Commit | Response:
        stale = next(
            (k for g, k in self.options.get("stale", {}).items() if fnmatchcase(repo.repo_id, g)),
            0,
        )
        commit = repo.resolve(revision, stale=int(stale))
        if commit is None:
            return hf_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return commit

    # --- /api/{t}/… ------------------------------------------------------------------------
    def api(self, req: Request, repo_type: str, segs: list[str]) -> Response:
        split = next((i for i in (1, 2) if len(segs) > i and segs[i] in ACTIONS), len(segs))
        if split > 2 or split == 0:
            return hf_error(404, None, "Sorry, we can't find the page you are looking for.")
        repo_id, action, rest = "/".join(segs[:split]), segs[split : split + 1], segs[split + 1 :]
        found = self.lookup(req, repo_type, repo_id)
        if isinstance(found, Response):
            return found
        repo = found
        if action == ["refs"]:
            return json_response(refs_body(repo))
        revision = rest[0] if rest else "main"
        commit = self.commit(repo, revision)
        if isinstance(commit, Response):
            return commit
        sub = "/".join(rest[1:]).strip("/")
        if not action or action == ["revision"]:
            blobs = (req.arg("blobs") or "").lower() == "true"
            return json_response(repo_info(repo, commit, blobs=blobs))
        if action == ["tree"]:
            return self.tree(req, commit, sub, revision, repo.repo_id)
        if action == ["paths-info"] and req.method == "POST":
            return self.paths_info(req, commit)
        if action == ["treesize"]:
            files = files_under(commit, sub)
            if files is None:
                return self._missing_path(commit, sub, revision)
            return json_response({"path": sub, "size": sum(f.size for f in files)})
        if action == ["xet-read-token"]:
            return xet_token()
        return hf_error(405, None, "Method not allowed")

    def _missing_path(self, commit: Commit, sub: str, revision: str) -> Response:
        msg = f'{sub} does not exist on "{revision}"'
        return hf_error(404, "EntryNotFound", msg, [("X-Repo-Commit", commit.sha)])

    def tree(self, req: Request, commit: Commit, sub: str, revision: str, repo_id: str) -> Response:
        recursive = (req.arg("recursive") or "").lower() in ("true", "1")
        expand = (req.arg("expand") or "").lower() in ("true", "1")
        if files_under(commit, sub) is None or (sub and sub in commit.files):
            return self._missing_path(commit, sub, revision)
        xet = bool(self.options.get("xet"))
        items = tree_entries(commit, sub, recursive=recursive, expand=expand, xet=xet)
        for glob, extra in self.options.get("extra_tree", {}).items():
            if not sub and fnmatchcase(repo_id, glob):
                items += [dict(e) for e in extra]
        size = int(
            self.options.get("expand_page_size" if expand else "page_size", 50 if expand else 1000)
        )
        start = cursor_offset(req.arg("cursor"))
        page, headers = items[start : start + size], []
        if start + size < len(items):
            link_host = self.options.get("link_host")
            base = self.host.base_url
            if link_host and self.host.sim is not None and link_host in self.host.sim.hosts:
                base = self.host.sim.hosts[link_host].base_url
            query = {k: v[0] for k, v in req.query.items() if k != "cursor"}
            looped = self.options.get("loop_cursor") and start >= size
            query["cursor"] = make_cursor(size if looped else start + size)
            path = req.raw_path.split("?", 1)[0]
            headers.append(("Link", f'<{base}{path}?{urlencode(query)}>; rel="next"'))
        return json_response(page, headers=headers)

    def paths_info(self, req: Request, commit: Commit) -> Response:
        from urllib.parse import parse_qs

        form = parse_qs(req.body.decode(errors="replace"), keep_blank_values=True)
        if not form and req.body.strip().startswith(b"{"):
            form = {k: v if isinstance(v, list) else [v] for k, v in json.loads(req.body).items()}
        expand = str((form.get("expand") or ["false"])[0]).lower() in ("true", "1")
        out = []
        for path in form.get("paths", []):
            path = str(path).strip("/")
            if path in commit.files:
                xet = bool(self.options.get("xet"))
                out.append(file_entry(commit.files[path], commit, expand=expand, xet=xet))
            elif path and any(p.startswith(path + "/") for p in commit.files):
                out.append(dir_entry(path, commit, expand=expand))
        return json_response(out)

    def whoami(self, req: Request) -> Response:
        if self.catalog.token_access(req.bearer()) in ("none", "invalid"):
            return hf_error(401, None, "Invalid credentials in Authorization header")
        return json_response({"type": "user", "name": "kuaidi-sim-user", "orgs": []})

    # --- /resolve --------------------------------------------------------------------------
    def resolve(self, req: Request, repo_type: str, repo_id: str, rest: list[str]) -> Response:
        trap = self._referer_trap(req)
        if trap is not None:
            return trap
        found = self.lookup(req, repo_type, repo_id)
        if isinstance(found, Response):
            return found
        repo = found
        denied = self.gate(req, repo)
        if denied is not None:
            return denied
        # The client quotes the revision (refs%2Fpr%2F1); accept an unquoted one too.
        revision, path = rest[0], "/".join(rest[1:])
        for n in (3, 2):
            if repo.resolve("/".join(rest[:n])) is not None and repo.resolve(rest[0]) is None:
                revision, path = "/".join(rest[:n]), "/".join(rest[n:])
                break
        commit = self.commit(repo, revision)
        if isinstance(commit, Response):
            return commit
        f = commit.files.get(path)
        if f is None:
            return hf_error(
                404, "EntryNotFound", "Entry not found", [("X-Repo-Commit", commit.sha)]
            )
        common = [("X-Repo-Commit", commit.sha), ("Access-Control-Expose-Headers", "*")]
        if not f.lfs:
            t = "models" if repo_type == "model" else "datasets"
            marker = quote(f"/{repo_id}/resolve/{revision}/{path}", safe="")
            location = (
                f"/api/resolve-cache/{t}/{quote(repo_id)}/{commit.sha}/{quote(path)}"
                f"?{marker}=&etag=%22{f.git_sha1}%22"
            )
            headers = [*common, ("ETag", f'"{f.git_sha1}"'), ("Location", location)]
            return Response(307, headers, b"")
        linked = [
            *common,
            ("X-Linked-Etag", f'"{f.sha256}"'),
            ("X-Linked-Size", str(f.size)),
            ("ETag", f'"{f.sha256}"'),
        ]
        if self.options.get("xet"):
            h = xet_hash(f)
            t = "models" if repo_type == "model" else "datasets"
            auth = f"{self.host.base_url}/api/{t}/{repo_id}/xet-read-token/{commit.sha}"
            recon = f"{UNREACHABLE_CAS}/v1/reconstructions/{h}"
            linked += [
                ("X-Xet-Hash", h),
                ("Link", f'<{auth}>; rel="xet-auth", <{recon}>; rel="xet-reconstruction-info"'),
            ]
        cdn_name = self.options.get("cdn")
        sim = self.host.sim
        if cdn_name and sim is not None and cdn_name in sim.hosts:
            location = signed_url(sim.hosts[cdn_name], f.sha256, f.path)
            return Response(302, [*linked, ("Location", location)], b"")
        headers = [*linked, ("Content-Type", content_type(path))]
        return serve_file(
            req, f.blob_path, f.size, headers, range_mode=self.options.get("range_mode", "honour")
        )

    def _referer_trap(self, req: Request) -> Response | None:
        """hf-mirror.com answers a /resolve/ request with a foreign Referer with an HTML page
        and status 200 (its Caddyfile's invalid_referer.html) — host option ``referer_trap``."""
        referer = req.headers.get("Referer")
        if not self.options.get("referer_trap") or not referer:
            return None
        if referer.startswith(self.host.base_url):
            return None
        html = (
            "<!DOCTYPE html><html><head><title>Invalid Referer</title></head><body>"
            "<h1>禁止盗链 / invalid referer</h1></body></html>\n"
        )
        return Response(200, [("Content-Type", "text/html; charset=utf-8")], html.encode())

    def resolve_cache(self, req: Request, repo_type: str, segs: list[str]) -> Response:
        at = next((i for i in (1, 2) if len(segs) > i and HEX40.match(segs[i])), None)
        if at is None:
            return hf_error(404, None, "Sorry, we can't find the page you are looking for.")
        repo_id, sha, path = "/".join(segs[:at]), segs[at], "/".join(segs[at + 1 :])
        found = self.lookup(req, repo_type, repo_id)
        if isinstance(found, Response):
            return found
        denied = self.gate(req, found)
        if denied is not None:
            return denied
        commit = self.commit(found, sha)
        if isinstance(commit, Response):
            return commit
        f = commit.files.get(path)
        if f is None:
            return hf_error(404, "EntryNotFound", "Entry not found", [("X-Repo-Commit", sha)])
        etag = f.sha256 if f.lfs else f.git_sha1
        headers = [
            ("X-Repo-Commit", sha),
            ("ETag", f'"{etag}"'),
            ("Content-Type", content_type(path)),
            ("Access-Control-Expose-Headers", "*"),
        ]
        return serve_file(
            req, f.blob_path, f.size, headers, range_mode=self.options.get("range_mode", "honour")
        )


def make_app(host: Host) -> App:
    """The HF protocol app for ``host`` (see module docstring for its options)."""
    return HubApp(host)
