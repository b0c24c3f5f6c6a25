"""Look inside an HF cache: which repos, how big, and are the blobs what their names say.

A blob's name is its hash (sha256 for LFS files, git blob sha1 for small ones), so every blob
can be checked without a network, and named by the repo paths the snapshots link to it under.
Partial downloads — kuaidi's ``*.kuaidi-part`` and huggingface_hub's ``*.incomplete`` — are
listed too, so a user sees what a rerun would resume (also for a repo with no snapshot yet).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kuaidi.model.digest import Digest, hash_path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
PARTIAL_SUFFIXES = (".kuaidi-part", ".incomplete")


@dataclass(frozen=True)
class CachedRepo:
    repo_type: str
    repo_id: str
    size: int
    blobs: int
    revisions: list[str]
    partial_bytes: int
    path: Path
    partials: int = 0  # partial files (kuaidi's and hub's)

    @property
    def complete(self) -> bool:
        """Has at least one snapshot (an interrupted first download has none yet)."""
        return (self.path / "snapshots").is_dir()


@dataclass(frozen=True)
class BlobCheck:
    repo_id: str
    blob: Path
    ok: bool
    reason: str = ""
    paths: tuple[str, ...] = ()  # repo paths linked to this blob in any snapshot
    repo_type: str = "model"


def list_repos(cache_dir: Path) -> list[CachedRepo]:
    """Every ``models--*`` / ``datasets--*`` folder in ``cache_dir`` with sizes and refs."""
    out = []
    for folder in sorted(Path(cache_dir).glob("*--*")):
        kind, _, rest = folder.name.partition("--")
        if kind not in ("models", "datasets", "spaces") or not folder.is_dir():
            continue
        blobs = [b for b in (folder / "blobs").glob("*") if b.is_file()]
        done = [b for b in blobs if _SHA256.match(b.name) or _SHA1.match(b.name)]
        parts = [b for b in blobs if b.name.endswith(PARTIAL_SUFFIXES)]
        refs = sorted(p.name for p in (folder / "refs").glob("**/*") if p.is_file())
        out.append(
            CachedRepo(
                repo_type=kind[:-1],
                repo_id=rest.replace("--", "/"),
                size=sum(b.stat().st_size for b in done),
                blobs=len(done),
                revisions=refs,
                partial_bytes=sum(min(p.stat().st_size, p.stat().st_blocks * 512) for p in parts),
                path=folder,
                partials=len(parts),
            )
        )
    return out


def blob_ok(blob: Path) -> tuple[bool, str]:
    """Hash ``blob`` and compare with its name (sha256 or git blob sha1)."""
    size = blob.stat().st_size
    if _SHA256.match(blob.name):
        digest = Digest(size, sha256=blob.name)
    elif _SHA1.match(blob.name):
        digest = Digest(size, git_sha1=blob.name)
    else:
        return True, "not a content-addressed blob"
    if hash_path(blob, digest).problem() is not None:
        return False, f"content hash {digest.hexdigest()[:12]}… does not match its name"
    return True, ""


def linked_paths(repo_folder: Path) -> dict[str, list[str]]:
    """Blob name → the repo paths that link to it in any snapshot (sorted, unique)."""
    out: dict[str, set[str]] = {}
    for snapshot in sorted((repo_folder / "snapshots").glob("*")):
        for link in snapshot.rglob("*"):
            if link.is_symlink():
                rel = link.relative_to(snapshot).as_posix()
                out.setdefault(Path(os.readlink(link)).name, set()).add(rel)
    return {blob: sorted(paths) for blob, paths in out.items()}


def verify(cache_dir: Path, repo_id: str | None = None) -> Iterator[BlobCheck]:
    """Check every blob (of ``repo_id`` only, when given)."""
    for repo in list_repos(cache_dir):
        if repo_id and repo.repo_id != repo_id:
            continue
        names = linked_paths(repo.path)
        for blob in sorted((repo.path / "blobs").glob("*")):
            if blob.is_file() and (_SHA256.match(blob.name) or _SHA1.match(blob.name)):
                ok, reason = blob_ok(blob)
                paths = tuple(names.get(blob.name, ()))
                yield BlobCheck(repo.repo_id, blob, ok, reason, paths, repo.repo_type)
