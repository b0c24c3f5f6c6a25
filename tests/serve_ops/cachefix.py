"""A small HF-layout cache built by hand: repos with real blobs, snapshots and refs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def make_repo(
    cache: Path,
    repo_id: str,
    files: dict[str, bytes],
    *,
    kind: str = "model",
    commit: str | None = None,
    ref: str = "main",
) -> Path:
    """One revision of ``repo_id`` in ``cache`` (blobs named by sha256); returns the repo dir."""
    folder = cache / "--".join([f"{kind}s", *repo_id.split("/")])
    commit = commit or hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
    blobs = folder / "blobs"
    snap = folder / "snapshots" / commit
    blobs.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        etag = hashlib.sha256(data).hexdigest()
        (blobs / etag).write_bytes(data)
        link = snap / path
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blobs / etag, link.parent))
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / ref).write_text(commit)
    return folder


def blob_of(folder: Path, data: bytes) -> Path:
    return folder / "blobs" / hashlib.sha256(data).hexdigest()
