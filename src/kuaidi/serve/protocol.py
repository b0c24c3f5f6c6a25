"""The Hugging Face Hub's JSON shapes and error answers, built from a :class:`Listing`.

What huggingface_hub (2.x and 0.2x), ``hf download`` and ``kuaidi get`` read: repo info with
``sha`` and ``siblings``, tree / paths-info entries (``oid``, ``size``, ``lfs``), and errors as
``X-Error-Code`` + ``X-Error-Message`` + ``{"error": …}``. No Xet fields, ever.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.responses import Response

from kuaidi import errors
from kuaidi.model import Listing, RemoteFile

TreeCache = dict[str, dict[str, Any]]


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer text a repo stores for an LFS file (its git blob is the tree oid)."""
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    )


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def blob_id(f: RemoteFile, tree: TreeCache | None) -> str:
    """The git blob id of ``f``: listed, else that of its LFS pointer."""
    listed = (tree or {}).get(f.path, {}).get("blob_id")
    if isinstance(listed, str) and listed:
        return listed
    if f.git_sha1:
        return f.git_sha1
    return git_blob_id(lfs_pointer(f.sha256 or "", f.size))


def etag(f: RemoteFile) -> str:
    return f.etag


def file_entry(f: RemoteFile, tree: TreeCache | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "file",
        "oid": blob_id(f, tree),
        "size": f.size,
        "path": f.path,
    }
    if f.lfs and f.sha256:
        ptr = len(lfs_pointer(f.sha256, f.size))
        entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": ptr}
    return entry


def dir_entry(path: str, commit: str) -> dict[str, Any]:
    oid = hashlib.sha1(f"{commit}:{path}".encode()).hexdigest()
    return {"type": "directory", "oid": oid, "size": 0, "path": path}


def tree_items(
    listing: Listing, sub: str, *, recursive: bool, tree: TreeCache | None
) -> list[dict[str, Any]] | None:
    """Entries under ``sub`` ("" = root), directories before their files; None if no such dir."""
    prefix = f"{sub}/" if sub else ""
    files = [f for f in listing.files if f.path.startswith(prefix)]
    if sub and not files:
        return None
    dirs: set[str] = set()
    out: list[dict[str, Any]] = []
    for f in sorted(files, key=lambda f: f.path):
        rest = f.path[len(prefix) :]
        parts = rest.split("/")
        for i in range(1, len(parts)):
            d = prefix + "/".join(parts[:i])
            if (recursive or i == 1) and d not in dirs:
                dirs.add(d)
                out.append(dir_entry(d, listing.commit))
        if recursive or len(parts) == 1:
            out.append(file_entry(f, tree))
    return out


def paths_info(listing: Listing, paths: list[str], tree: TreeCache | None) -> list[dict[str, Any]]:
    by_path = {f.path: f for f in listing.files}
    out = []
    for raw in paths:
        p = raw.strip("/")
        if p in by_path:
            out.append(file_entry(by_path[p], tree))
        elif p and any(q.startswith(p + "/") for q in by_path):
            out.append(dir_entry(p, listing.commit))
    return out


def repo_info(
    listing: Listing, *, gated: bool, blobs: bool, tree: TreeCache | None
) -> dict[str, Any]:
    siblings: list[dict[str, Any]] = []
    for f in listing.files:
        item: dict[str, Any] = {"rfilename": f.path}
        if blobs:
            item.update(size=f.size, blobId=blob_id(f, tree))
            if f.lfs and f.sha256:
                item["lfs"] = {
                    "sha256": f.sha256,
                    "size": f.size,
                    "pointerSize": len(lfs_pointer(f.sha256, f.size)),
                }
        siblings.append(item)
    repo_id = listing.repo.repo_id
    body: dict[str, Any] = {
        "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
        "id": repo_id,
        "author": repo_id.split("/")[0],
        "sha": listing.commit,
        "private": False,
        "gated": "auto" if gated else False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": siblings,
        "usedStorage": sum(f.size for f in listing.files),
    }
    if listing.repo.repo_type == "model":
        body["modelId"] = repo_id
    return body


def tree_cache(listing: Listing, tree: TreeCache | None) -> TreeCache:
    """huggingface_hub 2.x's ``trees/<commit>.json`` entries, so it can list offline."""
    out: TreeCache = {}
    for f in listing.files:
        entry: dict[str, Any] = {"size": f.size, "blob_id": blob_id(f, tree)}
        if f.lfs and f.sha256:
            entry.update(lfs_sha256=f.sha256, lfs_size=f.size)
        else:
            entry.update(lfs_sha256=None, lfs_size=None)
        entry["xet_hash"] = None
        out[f.path] = entry
    return out


def content_type(path: str) -> str:
    if path.endswith(".json"):
        return "application/json"
    if path.endswith((".md", ".txt", ".csv", ".gitattributes")):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


# -- errors ---------------------------------------------------------------------------------
def hub_error(
    status: int, code: str | None, message: str, headers: dict[str, str] | None = None
) -> Response:
    extra = {"X-Error-Message": _latin1(message), **(headers or {})}
    if code:
        extra["X-Error-Code"] = code
    body = json.dumps({"error": message}).encode()
    return Response(body, status, headers=extra, media_type="application/json")


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1").replace("\n", " ")[:400]


def error_response(exc: errors.KuaidiError, commit: str | None = None) -> Response:
    """The Hub's answer for a :mod:`kuaidi.errors` exception (the message, never a token)."""
    msg = exc.message
    if isinstance(exc, errors.RepoNotFound):
        return hub_error(401, "RepoNotFound", msg)
    if isinstance(exc, errors.RevisionNotFound):
        return hub_error(404, "RevisionNotFound", msg)
    if isinstance(exc, errors.EntryNotFound):
        return hub_error(404, "EntryNotFound", msg, {"X-Repo-Commit": commit} if commit else None)
    if isinstance(exc, errors.GatedRepo):
        return hub_error(
            403 if "not granted" in msg or "no access" in msg else 401, "GatedRepo", msg
        )
    if isinstance(exc, errors.TokenRejected):
        return hub_error(401, None, msg)
    if isinstance(exc, errors.UsageError):
        return hub_error(400, None, msg)
    if isinstance(exc, errors.SourceUnavailable):
        return hub_error(503, None, msg)
    return hub_error(502, None, msg)
