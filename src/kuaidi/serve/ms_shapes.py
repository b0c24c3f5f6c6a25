"""The JSON ModelScope clients read, built from a :class:`~kuaidi.model.repo.Listing`.

The modelscope SDK (modelscope_hub 0.5.x) parses an envelope ``{Code, Data, Message, RequestId,
Success}``; from ``repo/files`` and ``repo/tree`` it reads ``Files[].Path``, ``Type`` (``tree``
entries are skipped), ``Size`` and ``Sha256`` (checked after download when not empty). The
served bytes are the Hub's, so the listing's sha256 is the one given: a file HF lists with only
a git blob id gets ``Sha256: ""`` and the SDK checks its size alone.

>>> from kuaidi.model.repo import RemoteFile
>>> file_entry(RemoteFile("a/b.bin", 3, sha256="ab" * 32, lfs=True), "c" * 40)["Name"]
'b.bin'
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from kuaidi.model.repo import Listing, RemoteFile

# ModelScope's business codes for errors (the HTTP status carries the meaning).
CODE_NOT_FOUND = 10010205001
CODE_UNAUTHORIZED = 10010201001
BRANCH = "master"  # ModelScope's default branch; the Hub's is "main"
VISIBILITY_PUBLIC = 5


def envelope(data: Any, *, code: int = 200, message: str = "success") -> dict[str, Any]:
    """The wrapper of every ``/api/v1`` answer."""
    return {
        "Code": code,
        "Data": data,
        "Message": message,
        "RequestId": str(uuid.uuid4()),
        "Success": code == 200,
    }


def numeric_id(repo_type: str, ms_id: str) -> int:
    """A stable numeric ``Id`` (old SDKs address datasets by it)."""
    digest = hashlib.sha256(f"{repo_type}|{ms_id}".encode()).digest()
    return 100000 + int.from_bytes(digest[:3], "big")


def model_info(listing: Listing, ms_id: str) -> dict[str, Any]:
    """``Data`` of ``GET /api/v1/models/{ns}/{name}``."""
    owner, name = ms_id.split("/", 1)
    return {
        "Id": numeric_id(listing.repo.repo_type, ms_id),
        "Name": name,
        "Path": owner,
        "Namespace": owner,
        "ChineseName": name,
        "Revision": BRANCH,
        "Visibility": VISIBILITY_PUBLIC,
        "IsAccessible": True,
        "Organization": {"Name": owner, "FullName": owner},
        "LatestCommitId": listing.commit,
        "StorageSize": sum(f.size for f in listing.files),
        "Type": 0,
    }


def revisions(listing: Listing) -> dict[str, Any]:
    """``Data`` of ``/revisions``: the branch ``master`` at the Hub's ``main`` commit.

    Tags are not listed: the Hub seam answers one revision at a time, and a client asking for
    a tag by name still gets it (``Revision=<tag>`` goes to the Hub as that tag).
    """
    branch = {"Revision": BRANCH, "CreatedAt": 0, "CommitId": listing.commit}
    return {"RevisionMap": {"Branches": [branch], "Tags": []}}


def file_entry(f: RemoteFile, commit: str) -> dict[str, Any]:
    """One ``Files[]`` entry of a blob."""
    return {
        "Id": f.git_sha1 or f.sha256 or "",
        "IsLFS": f.lfs,
        "Mode": "33188",
        "Name": f.path.rsplit("/", 1)[-1],
        "Path": f.path,
        "Revision": commit,
        "Sha256": f.sha256 or "",
        "Size": f.size,
        "Type": "blob",
    }


def tree_entry(path: str, commit: str) -> dict[str, Any]:
    """A directory entry (``Type: tree``); the SDKs skip these."""
    return {
        "Id": "",
        "IsLFS": False,
        "Mode": "16384",
        "Name": path.rsplit("/", 1)[-1],
        "Path": path,
        "Revision": commit,
        "Sha256": "",
        "Size": 0,
        "Type": "tree",
    }


def entries(listing: Listing, *, root: str | None, recursive: bool) -> list[dict[str, Any]]:
    """The files under ``root`` (all of them, or one level), directories first."""
    prefix = root.strip("/") + "/" if root and root.strip("/") else ""
    dirs: set[str] = set()
    files: list[RemoteFile] = []
    for f in sorted(listing.files, key=lambda f: f.path):
        if not f.path.startswith(prefix):
            continue
        rest = f.path[len(prefix) :].split("/")
        if not recursive and len(rest) > 1:
            dirs.add(prefix + rest[0])
            continue
        files.append(f)
        for depth in range(1, len(rest)):
            dirs.add(prefix + "/".join(rest[:depth]))
    out = [tree_entry(d, listing.commit) for d in sorted(dirs)]
    return out + [file_entry(f, listing.commit) for f in files]
