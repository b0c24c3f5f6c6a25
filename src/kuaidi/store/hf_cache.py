"""The exact huggingface_hub cache layout, so hub tools see kuaidi's downloads as their own.

::

    <cache>/models--org--name/blobs/<etag>
    <cache>/models--org--name/snapshots/<commit>/<path>  -> ../../blobs/<etag> (relative)
    <cache>/models--org--name/refs/<revision>             (commit, written atomically)
    <cache>/models--org--name/trees/<commit>.json         (hub 2.x tree cache)
    <cache>/.locks/models--org--name/<etag>.lock          (the lock path hub uses too)

Partial downloads live next to the blob as ``<etag>.kuaidi-part`` + ``<etag>.kuaidi-journal``
so they never clash with the hub's own ``*.incomplete`` files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kuaidi.errors import KuaidiError
from kuaidi.model import Listing, Placement, RemoteFile, RepoRef, safe_relpath
from kuaidi.store.atomic import fsync_dir, sweep_stale, symlink_atomic, write_text_atomic
from kuaidi.store.paths import join_inside
from kuaidi.store.target import write_tree_cache

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by kuaidi.\n"
)


def repo_folder_name(repo: RepoRef) -> str:
    """``models--org--name`` / ``datasets--org--name``, as huggingface_hub names it."""
    return "--".join([f"{repo.repo_type}s", *repo.repo_id.split("/")])


class HFCacheTarget:
    """Writes one repo into a huggingface_hub cache directory (``HF_HUB_CACHE``)."""

    def __init__(self, cache_dir: Path, repo: RepoRef, commit: str) -> None:
        self.cache_dir = Path(cache_dir)
        self.repo = repo
        self.commit = commit
        self.root = self.cache_dir / repo_folder_name(repo)
        self.blobs = self.root / "blobs"
        self.snapshot = self.root / "snapshots" / commit
        self.locks = self.cache_dir / ".locks" / repo_folder_name(repo)

    def placement(self, file: RemoteFile) -> Placement:
        etag = file.etag
        return Placement(
            part=self.blobs / f"{etag}.kuaidi-part",
            journal=self.blobs / f"{etag}.kuaidi-journal",
            lock=self.locks / f"{etag}.lock",
            final=self.blobs / etag,
        )

    def prepare(self) -> None:
        """Create the folders (idempotent); clear temp links a killed run left behind."""
        sweep_stale(self.root)
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.locks.mkdir(parents=True, exist_ok=True)
        tag = self.cache_dir / "CACHEDIR.TAG"
        if not tag.exists():
            write_text_atomic(tag, CACHEDIR_TAG)

    def is_present(self, file: RemoteFile) -> bool:
        blob = self.blobs / file.etag
        try:
            return blob.stat().st_size == file.size
        except FileNotFoundError:
            return False

    def install(self, file: RemoteFile, part: Path) -> None:
        blob = self.blobs / file.etag
        os.replace(part, blob)
        fsync_dir(self.blobs)
        self.link(file)

    def link(self, file: RemoteFile) -> None:
        safe_relpath(file.path)
        link = join_inside(self.snapshot, file.path)
        target = os.path.relpath(self.blobs / file.etag, link.parent)
        if link.is_symlink() and os.readlink(link) == target:
            return
        symlink_atomic(target, link)

    def finish(self, listing: Listing, tree: dict[str, dict[str, Any]] | None) -> Path:
        self.snapshot.mkdir(parents=True, exist_ok=True)
        revision = listing.repo.revision
        if revision != self.commit:
            safe_relpath(revision)
            ref = join_inside(self.root / "refs", revision)
            write_text_atomic(ref, self.commit)
        if tree:
            write_tree_cache(self.root, self.commit, tree)
        return self.snapshot


def cached_revision(cache_dir: Path, repo: RepoRef) -> tuple[str, list[RemoteFile]] | None:
    """What the cache holds for ``repo.revision`` without a network, or None: the commit
    (``refs/<revision>``, or the revision itself when it is a commit with a snapshot) and its
    files — every file of ``trees/<commit>.json`` when kuaidi (or hub 2.x) wrote one, else the
    snapshot's links, as huggingface_hub's offline mode trusts them. Whether the blobs are
    there is the caller's check (:meth:`HFCacheTarget.is_present`)."""
    root = Path(cache_dir) / repo_folder_name(repo)
    try:
        ref = join_inside(root / "refs", safe_relpath(repo.revision))
        commit = ref.read_text().strip() if ref.is_file() else repo.revision
        snapshot = join_inside(root / "snapshots", safe_relpath(commit))
    except (OSError, KuaidiError):
        return None
    if not snapshot.is_dir():
        return None
    tree = root / "trees" / f"{commit}.json"
    files: list[RemoteFile | None]
    try:
        entries = json.loads(tree.read_text())["files"]
        files = [_from_tree(path, entry) for path, entry in entries.items()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        files = [_from_link(snapshot, p) for p in sorted(snapshot.rglob("*")) if p.is_symlink()]
    return commit, [f for f in files if f is not None]


def _from_tree(path: str, entry: dict[str, Any]) -> RemoteFile:
    sha256 = entry.get("lfs_sha256")
    return RemoteFile(path, int(entry["size"]), sha256, entry.get("blob_id"), lfs=bool(sha256))


def _from_link(snapshot: Path, link: Path) -> RemoteFile | None:
    blob = link.resolve()
    try:
        size = blob.stat().st_size
    except OSError:
        return None
    path = link.relative_to(snapshot).as_posix()
    if len(blob.name) == 64:
        return RemoteFile(path, size, sha256=blob.name, lfs=True)
    return RemoteFile(path, size, git_sha1=blob.name)
