"""Look inside an HF cache: which repos, how big, and are the blobs what their names say.

A blob's name is its hash (sha256 for LFS files, git blob sha1 for small ones), so every blob
can be checked without a network. Partial kuaidi downloads (``*.kuaidi-part``) are listed too,
so a user sees what a rerun would resume.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class CachedRepo:
    repo_type: str
    repo_id: str
    size: int
    blobs: int
    revisions: list[str]
    partial_bytes: int
    path: Path


@dataclass(frozen=True)
class BlobCheck:
    repo_id: str
    blob: Path
    ok: bool
    reason: str = ""


def list_repos(cache_dir: Path) -> list[CachedRepo]:
    """Every ``models--*`` / ``datasets--*`` folder in ``cache_dir`` with sizes and refs."""
    out = []
    for folder in sorted(Path(cache_dir).glob("*--*")):
        kind, _, rest = folder.name.partition("--")
        if kind not in ("models", "datasets", "spaces") or not folder.is_dir():
            continue
        blobs = [b for b in (folder / "blobs").glob("*") if b.is_file()]
        done = [b for b in blobs if _SHA256.match(b.name) or _SHA1.match(b.name)]
        parts = [b for b in blobs if b.name.endswith(".kuaidi-part")]
        refs = sorted(p.name for p in (folder / "refs").glob("**/*") if p.is_file())
        out.append(
            CachedRepo(
                repo_type=kind[:-1],
                repo_id=rest.replace("--", "/"),
                size=sum(b.stat().st_size for b in done),
                blobs=len(done),
                revisions=refs,
                partial_bytes=sum(p.stat().st_blocks * 512 for p in parts),
                path=folder,
            )
        )
    return out


def blob_ok(blob: Path) -> tuple[bool, str]:
    """Hash ``blob`` and compare with its name (sha256 or git blob sha1)."""
    size = blob.stat().st_size
    if _SHA256.match(blob.name):
        h = hashlib.sha256()
    elif _SHA1.match(blob.name):
        h = hashlib.sha1(b"blob %d\0" % size)
    else:
        return True, "not a content-addressed blob"
    with open(blob, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    if h.hexdigest() != blob.name:
        return False, f"content hash {h.hexdigest()[:12]}… does not match its name"
    return True, ""


def verify(cache_dir: Path, repo_id: str | None = None) -> Iterator[BlobCheck]:
    """Check every blob (of ``repo_id`` only, when given)."""
    for repo in list_repos(cache_dir):
        if repo_id and repo.repo_id != repo_id:
            continue
        for blob in sorted((repo.path / "blobs").glob("*")):
            if blob.is_file() and (_SHA256.match(blob.name) or _SHA1.match(blob.name)):
                ok, reason = blob_ok(blob)
                yield BlobCheck(repo.repo_id, blob, ok, reason)
