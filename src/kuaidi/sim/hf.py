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
commits), ``range_mode``.

Errors as the Hub sends them: ``X-Error-Code`` RepoNotFound (401, or 404 with a valid token),
GatedRepo (401 without token, 403 not granted), RevisionNotFound / EntryNotFound (404; the latter
with ``X-Repo-Commit``), all with ``X-Error-Message``. A renamed repo answers a relative 307.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from fnmatch import fnmatchcase
from urllib.parse import quote, urlencode

from kuaidi.sim.cdn import signed_url
from kuaidi.sim.content import Commit, Repo, RepoFile
from kuaidi.sim.server import App, Host, Request, Response, json_response, serve_file

TYPES = {"models": "model", "datasets": "dataset"}
URL_PREFIX = {"model": "", "dataset": "datasets/"}
ACTIONS = ("revision", "tree", "paths-info", "treesize", "refs", "xet-read-token")
UNREACHABLE_CAS = "http://127.0.0.1:9"  # connection refused: what a mirror user's Xet meets
HEX40 = re.compile(r"^[0-9a-f]{40}$")


def hf_error(status: int, code: str | None, message: str, headers: list | None = None) -> Response:
    """A Hub-style error: JSON ``{"error": …}`` plus ``X-Error-Code`` / ``X-Error-Message``."""
    extra = [("X-Error-Message", message), *(headers or [])]
    if code:
        extra.insert(0, ("X-Error-Code", code))
    return json_response({"error": message}, status, extra)


def xet_hash(f: RepoFile) -> str:
    return hashlib.sha256(b"xet|" + f.sha256.encode()).hexdigest()


def _content_type(path: str) -> str:
    if path.endswith(".json"):
        return "application/json"
    if path.endswith((".md", ".txt", ".csv", ".gitattributes")):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


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
            return self.refs(repo)
        revision = rest[0] if rest else "main"
        commit = self.commit(repo, revision)
        if isinstance(commit, Response):
            return commit
        sub = "/".join(rest[1:]).strip("/")
        if not action or action == ["revision"]:
            return self.info(req, repo, commit)
        if action == ["tree"]:
            return self.tree(req, repo, commit, sub)
        if action == ["paths-info"] and req.method == "POST":
            return self.paths_info(req, commit)
        if action == ["treesize"]:
            files = self._under(commit, sub)
            if files is None:
                return self._missing_path(commit, sub, revision)
            return json_response({"path": sub, "size": sum(f.size for f in files)})
        if action == ["xet-read-token"]:
            return self.xet_token()
        return hf_error(405, None, "Method not allowed")

    def info(self, req: Request, repo: Repo, commit: Commit) -> Response:
        blobs = (req.arg("blobs") or "").lower() == "true"
        siblings = []
        for f in commit.files.values():
            item: dict[str, object] = {"rfilename": f.path}
            if blobs:
                item.update(size=f.size, blobId=f.oid)
                if f.lfs:
                    item["lfs"] = {
                        "sha256": f.sha256,
                        "size": f.size,
                        "pointerSize": len(f.pointer),
                    }
            siblings.append(item)
        org = repo.repo_id.split("/")[0] if "/" in repo.repo_id else repo.repo_id
        body: dict[str, object] = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": org,
            "sha": commit.sha,
            "lastModified": commit.date,
            "createdAt": repo.commits[0].date,
            "private": repo.spec.private,
            "gated": repo.spec.gated,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
            "usedStorage": commit.size,
        }
        if repo.repo_type == "model":
            body["modelId"] = repo.repo_id
            body["library_name"] = "transformers"
        else:
            body.update(description="A kuaidi sim dataset.", citation="", mainSize=commit.size)
        return json_response(body)

    def _entry(self, f: RepoFile, commit: Commit, expand: bool) -> dict[str, object]:
        entry: dict[str, object] = {"type": "file", "oid": f.oid, "size": f.size, "path": f.path}
        if f.lfs:
            entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": len(f.pointer)}
            if self.options.get("xet"):
                entry["xetHash"] = xet_hash(f)
        if expand:
            entry["lastCommit"] = {"id": commit.sha, "title": commit.title, "date": commit.date}
            entry["securityFileStatus"] = {"status": "safe"}
        return entry

    @staticmethod
    def _dir_entry(path: str, commit: Commit, expand: bool) -> dict[str, object]:
        oid = hashlib.sha1(f"tree|{commit.sha}|{path}".encode()).hexdigest()
        entry: dict[str, object] = {"type": "directory", "oid": oid, "size": 0, "path": path}
        if expand:
            entry["lastCommit"] = {"id": commit.sha, "title": commit.title, "date": commit.date}
        return entry

    @staticmethod
    def _under(commit: Commit, sub: str) -> list[RepoFile] | None:
        """Files at or below ``sub`` ("" = root); None if nothing is there."""
        if not sub:
            return list(commit.files.values())
        if sub in commit.files:
            return [commit.files[sub]]
        files = [f for p, f in commit.files.items() if p.startswith(sub + "/")]
        return files or None

    def _missing_path(self, commit: Commit, sub: str, revision: str) -> Response:
        msg = f'{sub} does not exist on "{revision}"'
        return hf_error(404, "EntryNotFound", msg, [("X-Repo-Commit", commit.sha)])

    def tree(self, req: Request, repo: Repo, commit: Commit, sub: str) -> Response:
        recursive = (req.arg("recursive") or "").lower() in ("true", "1")
        expand = (req.arg("expand") or "").lower() in ("true", "1")
        files = self._under(commit, sub)
        if files is None or (sub and sub in commit.files):
            return self._missing_path(commit, sub, req.raw_segments[4] if sub else "main")
        prefix = sub + "/" if sub else ""
        entries: dict[str, dict[str, object]] = {}
        for f in sorted(files, key=lambda f: f.path):
            rel = f.path[len(prefix) :].split("/")
            depth = len(rel) if recursive else 1
            for d in range(1, min(len(rel), depth + 1)):
                dpath = prefix + "/".join(rel[:d])
                entries.setdefault(dpath, self._dir_entry(dpath, commit, expand))
            if len(rel) == 1 or recursive:
                entries[f.path] = self._entry(f, commit, expand)
        items = sorted(entries.values(), key=lambda e: str(e["path"]))
        size = int(
            self.options.get("expand_page_size" if expand else "page_size", 50 if expand else 1000)
        )
        start = _cursor_offset(req.arg("cursor"))
        page, headers = items[start : start + size], []
        if start + size < len(items):
            link_host = self.options.get("link_host")
            base = self.host.base_url
            if link_host and self.host.sim is not None and link_host in self.host.sim.hosts:
                base = self.host.sim.hosts[link_host].base_url
            query = {k: v[0] for k, v in req.query.items() if k != "cursor"}
            query["cursor"] = _make_cursor(start + size)
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
                out.append(self._entry(commit.files[path], commit, expand))
            elif path and any(p.startswith(path + "/") for p in commit.files):
                out.append(self._dir_entry(path, commit, expand))
        return json_response(out)

    @staticmethod
    def refs(repo: Repo) -> Response:
        def ref(name: str, kind: str) -> dict[str, str]:
            return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": repo.refs[name]}

        branches = [ref(n, "heads") for n in repo.refs if n == "main"]
        tags = [ref(n, "tags") for n in repo.refs if n not in ("main",) and "/" not in n]
        return json_response({"branches": branches, "tags": tags, "converts": []})

    @staticmethod
    def xet_token() -> Response:
        exp = int(time.time()) + 3600
        headers = [
            ("X-Xet-Cas-Url", UNREACHABLE_CAS),
            ("X-Xet-Access-Token", "kuaidi-sim-xet-token"),
            ("X-Xet-Token-Expiration", str(exp)),
        ]
        body = {"accessToken": "kuaidi-sim-xet-token", "exp": exp, "casUrl": UNREACHABLE_CAS}
        return json_response(body, headers=headers)

    def whoami(self, req: Request) -> Response:
        if self.catalog.token_access(req.bearer()) in ("none", "invalid"):
            return hf_error(401, None, "Invalid credentials in Authorization header")
        return json_response({"type": "user", "name": "kuaidi-sim-user", "orgs": []})

    # --- /resolve --------------------------------------------------------------------------
    def resolve(self, req: Request, repo_type: str, repo_id: str, rest: list[str]) -> Response:
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
        headers = [*linked, ("Content-Type", _content_type(path))]
        return serve_file(
            req, f.blob_path, f.size, headers, range_mode=self.options.get("range_mode", "honour")
        )

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
            ("Content-Type", _content_type(path)),
            ("Access-Control-Expose-Headers", "*"),
        ]
        return serve_file(
            req, f.blob_path, f.size, headers, range_mode=self.options.get("range_mode", "honour")
        )


def _make_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _cursor_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["o"])
    except (ValueError, KeyError, TypeError):
        return 0


def make_app(host: Host) -> App:
    """The HF protocol app for ``host`` (see module docstring for its options)."""
    return HubApp(host)
