"""The JSON shapes and error responses of the Hub's API, built from the sim's catalog.

Kept apart from the routing in :mod:`kuaidi.sim.hf`: repo info (``siblings``, ``?blobs=true``),
tree entries (``lfs.oid``, ``xetHash``, ``lastCommit``), cursors, refs, Xet token, errors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

from kuaidi.sim.content import Commit, Repo, RepoFile
from kuaidi.sim.messages import Response, json_response

UNREACHABLE_CAS = "http://127.0.0.1:9"  # connection refused: what a mirror user's Xet meets


def hf_error(status: int, code: str | None, message: str, headers: list | None = None) -> Response:
    """A Hub-style error: JSON ``{"error": …}`` plus ``X-Error-Code`` / ``X-Error-Message``."""
    extra = [("X-Error-Message", message), *(headers or [])]
    if code:
        extra.insert(0, ("X-Error-Code", code))
    return json_response({"error": message}, status, extra)


def xet_hash(f: RepoFile) -> str:
    return hashlib.sha256(b"xet|" + f.sha256.encode()).hexdigest()


def content_type(path: str) -> str:
    """The Content-Type the Hub sends for a file name."""
    if path.endswith(".json"):
        return "application/json"
    if path.endswith((".md", ".txt", ".csv", ".gitattributes")):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def repo_info(repo: Repo, commit: Commit, *, blobs: bool) -> dict[str, object]:
    """``GET /api/{t}/{repo}[/revision/{rev}]``; ``blobs`` adds sizes, blob ids and ``lfs``."""
    siblings = []
    for f in commit.files.values():
        item: dict[str, object] = {"rfilename": f.path}
        if blobs:
            item.update(size=f.size, blobId=f.oid)
            if f.lfs:
                item["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": len(f.pointer)}
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
    return body


def file_entry(f: RepoFile, commit: Commit, *, expand: bool, xet: bool) -> dict[str, object]:
    """A tree / paths-info entry for a file (``oid`` is the pointer's for LFS files)."""
    entry: dict[str, object] = {"type": "file", "oid": f.oid, "size": f.size, "path": f.path}
    if f.lfs:
        entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": len(f.pointer)}
        if xet:
            entry["xetHash"] = xet_hash(f)
    if expand:
        entry["lastCommit"] = {"id": commit.sha, "title": commit.title, "date": commit.date}
        entry["securityFileStatus"] = {"status": "safe"}
    return entry


def dir_entry(path: str, commit: Commit, *, expand: bool) -> dict[str, object]:
    """A tree / paths-info entry for a directory."""
    oid = hashlib.sha1(f"tree|{commit.sha}|{path}".encode()).hexdigest()
    entry: dict[str, object] = {"type": "directory", "oid": oid, "size": 0, "path": path}
    if expand:
        entry["lastCommit"] = {"id": commit.sha, "title": commit.title, "date": commit.date}
    return entry


def files_under(commit: Commit, sub: str) -> list[RepoFile] | None:
    """Files at or below ``sub`` ("" = root); None if nothing is there."""
    if not sub:
        return list(commit.files.values())
    if sub in commit.files:
        return [commit.files[sub]]
    files = [f for p, f in commit.files.items() if p.startswith(sub + "/")]
    return files or None


def tree_entries(
    commit: Commit, sub: str, *, recursive: bool, expand: bool, xet: bool
) -> list[dict[str, object]]:
    """Every entry of ``/tree/{rev}/{sub}`` in path order (directories included)."""
    files = files_under(commit, sub) or []
    prefix = sub + "/" if sub else ""
    entries: dict[str, dict[str, object]] = {}
    for f in sorted(files, key=lambda f: f.path):
        rel = f.path[len(prefix) :].split("/")
        depth = len(rel) if recursive else 1
        for d in range(1, min(len(rel), depth + 1)):
            dpath = prefix + "/".join(rel[:d])
            entries.setdefault(dpath, dir_entry(dpath, commit, expand=expand))
        if len(rel) == 1 or recursive:
            entries[f.path] = file_entry(f, commit, expand=expand, xet=xet)
    return sorted(entries.values(), key=lambda e: str(e["path"]))


def make_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def cursor_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["o"])
    except (ValueError, KeyError, TypeError):
        return 0


def refs_body(repo: Repo) -> dict[str, object]:
    """``GET /api/{t}/{repo}/refs``."""

    def ref(name: str, kind: str) -> dict[str, str]:
        return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": repo.refs[name]}

    branches = [ref(n, "heads") for n in repo.refs if n == "main"]
    tags = [ref(n, "tags") for n in repo.refs if n != "main" and "/" not in n]
    return {"branches": branches, "tags": tags, "converts": []}


def xet_token() -> Response:
    """``/xet-read-token/{rev}``: a token for a CAS nobody can reach."""
    exp = int(time.time()) + 3600
    headers = [
        ("X-Xet-Cas-Url", UNREACHABLE_CAS),
        ("X-Xet-Access-Token", "kuaidi-sim-xet-token"),
        ("X-Xet-Token-Expiration", str(exp)),
    ]
    body = {"accessToken": "kuaidi-sim-xet-token", "exp": exp, "casUrl": UNREACHABLE_CAS}
    return json_response(body, headers=headers)
