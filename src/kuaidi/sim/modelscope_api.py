"""The JSON shapes of ModelScope's ``/api/v1`` answers, built from the sim's catalog.

Field names and types follow what the SDKs parse (modelscope ≤1.37 ``hub/api.py``; modelscope
1.40.2 → modelscope_hub 0.5.1 ``_legacy_api.py``, ``_download.py``) and the fixtures in
modelscope/modelscope ``tests/hub``. Every answer is wrapped in the envelope
``{Code, Data, Message, RequestId, Success}``.

Example::

    >>> envelope({"Files": []})["Code"]
    200
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from kuaidi.sim.content import Commit, Repo, RepoFile

# Business codes seen on live ModelScope for errors (the HTTP status carries the meaning).
CODE_NOT_FOUND = 10010205001
CODE_UNAUTHORIZED = 10010201001
BRANCH = "master"  # ModelScope's default branch; HF's "main" does not exist here
VISIBILITY_PUBLIC, VISIBILITY_PRIVATE = 5, 1


def envelope(data: Any, *, code: int = 200, message: str = "success") -> dict[str, Any]:
    """``{Code, Data, Message, RequestId, Success}`` as live ModelScope answers."""
    return {
        "Code": code,
        "Data": data,
        "Message": message,
        "RequestId": str(uuid.uuid4()),
        "Success": code == 200,
    }


def unix(commit: Commit) -> int:
    """A commit's date as unix seconds (ModelScope's ``CreatedAt``/``CommittedDate``)."""
    return int(datetime.fromisoformat(commit.date.replace("Z", "+00:00")).timestamp())


def numeric_id(repo_type: str, repo_id: str) -> int:
    """A stable numeric id, like ModelScope's dataset ``Id`` used by the old SDK's tree route."""
    digest = hashlib.sha256(f"{repo_type}|{repo_id}".encode()).digest()
    return 100000 + int.from_bytes(digest[:3], "big")


def tags(repo: Repo) -> list[tuple[str, Commit]]:
    """Tag name → commit, newest first (HF-side refs other than ``main`` and ``refs/*``)."""
    by_sha = {c.sha: c for c in repo.commits}
    found = [
        (name, by_sha[sha])
        for name, sha in repo.refs.items()
        if name != "main" and not name.startswith("refs/")
    ]
    return sorted(found, key=lambda item: (item[1].index, item[0]), reverse=True)


def resolve(repo: Repo, revision: str | None) -> Commit | None:
    """The commit ``revision`` names on ModelScope: ``master``, a tag or a commit sha."""
    revision = revision or BRANCH
    if revision == BRANCH:
        return repo.head
    if revision == "main":
        return None
    return repo.resolve(revision)


def revisions_data(repo: Repo, end_time: int | None) -> dict[str, Any]:
    """``Data`` of ``/revisions``: ``RevisionMap{Branches, Tags}``; ``EndTime`` filters tags."""
    head = repo.head
    tag_items = [
        {"Revision": name, "CreatedAt": unix(c), "CommitId": c.sha, "Message": c.title}
        for name, c in tags(repo)
        if end_time is None or unix(c) <= end_time
    ]
    branches = [{"Revision": BRANCH, "CreatedAt": unix(head), "CommitId": head.sha}]
    return {"RevisionMap": {"Branches": branches, "Tags": tag_items}}


def model_info(repo: Repo, ms_id: str) -> dict[str, Any]:
    """``Data`` of ``GET /api/v1/models/{owner}/{name}`` (modelscope ``hub/info.py`` fields)."""
    owner, name = ms_id.split("/", 1)
    head = repo.head
    private = repo.spec.private
    return {
        "Id": numeric_id("model", ms_id),
        "Name": name,
        "Path": owner,
        "ChineseName": name,
        "Revision": BRANCH,
        "Visibility": VISIBILITY_PRIVATE if private else VISIBILITY_PUBLIC,
        "IsAccessible": True,
        "ApprovalMode": 2 if repo.spec.gated else 1,
        "Organization": {"Name": owner, "FullName": owner},
        "CreatedTime": unix(repo.commits[0]),
        "LastUpdatedTime": unix(head),
        "LatestCommitId": head.sha,
        "StorageSize": head.size,
        "Downloads": 0,
    }


def dataset_info(repo: Repo, ms_id: str) -> dict[str, Any]:
    """``Data`` of ``GET /api/v1/datasets/{owner}/{name}``: the numeric ``Id`` and ``Type``."""
    owner, name = ms_id.split("/", 1)
    return {
        "Id": numeric_id("dataset", ms_id),
        "Name": name,
        "Namespace": owner,
        "Type": 0,
        "Visibility": VISIBILITY_PRIVATE if repo.spec.private else VISIBILITY_PUBLIC,
        "LatestCommitId": repo.head.sha,
    }


def file_entry(f: RepoFile, commit: Commit) -> dict[str, Any]:
    """One ``Files[]`` entry of ``repo/files`` / ``repo/tree`` (fixture in ``test_hub_retry``)."""
    name = f.path.rsplit("/", 1)[-1]
    return {
        "CommitMessage": commit.title,
        "CommittedDate": unix(commit),
        "CommitterName": "kuaidi-sim",
        "Id": f.oid,
        "InCheck": False,
        "IsLFS": f.lfs,
        "Mode": "33188",
        "Name": name,
        "Path": f.path,
        "Revision": commit.sha,
        "Sha256": f.sha256,
        "Size": f.size,
        "Type": "blob",
    }


def tree_entry(path: str, commit: Commit) -> dict[str, Any]:
    """A directory entry (``Type: tree``); the SDKs skip these."""
    return {
        "CommitMessage": commit.title,
        "CommittedDate": unix(commit),
        "CommitterName": "kuaidi-sim",
        "Id": hashlib.sha1(f"{commit.sha}|{path}".encode()).hexdigest(),
        "InCheck": False,
        "IsLFS": False,
        "Mode": "16384",
        "Name": path.rsplit("/", 1)[-1],
        "Path": path,
        "Revision": commit.sha,
        "Sha256": "",
        "Size": 0,
        "Type": "tree",
    }


def listing(commit: Commit, *, root: str | None, recursive: bool) -> list[dict[str, Any]]:
    """Entries under ``root`` (all of them, or one level), directories before their files."""
    prefix = root.strip("/") + "/" if root and root.strip("/") else ""
    dirs: set[str] = set()
    files: list[RepoFile] = []
    for path in sorted(commit.files):
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :].split("/")
        if not recursive and len(rest) > 1:
            dirs.add(prefix + rest[0])
            continue
        files.append(commit.files[path])
        for depth in range(1, len(rest)):
            dirs.add(prefix + "/".join(rest[:depth]))
    entries = [tree_entry(d, commit) for d in sorted(dirs)]
    return entries + [file_entry(f, commit) for f in files]
