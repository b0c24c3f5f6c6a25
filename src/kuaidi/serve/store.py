"""The server's store: a huggingface_hub cache (``blobs/``, ``snapshots/``, ``refs/``, ``trees/``)
under ``--cache-dir``, so ``hf cache``, ``kuaidi cache`` and offline huggingface_hub read it."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

from kuaidi.errors import KuaidiError
from kuaidi.model import Listing, RemoteFile, RepoRef
from kuaidi.serve.protocol import TreeCache, tree_cache
from kuaidi.store.hf_cache import HFCacheTarget, cached_revision, repo_folder_name


class ServeStore:
    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def repo_dir(self, repo: RepoRef) -> Path:
        return self.cache_dir / repo_folder_name(repo)

    def target(self, repo: RepoRef, commit: str) -> HFCacheTarget:
        return HFCacheTarget(self.cache_dir, repo, commit)

    def blob(self, repo: RepoRef, f: RemoteFile) -> Path:
        return self.repo_dir(repo) / "blobs" / f.etag

    def complete(self, repo: RepoRef, f: RemoteFile) -> Path | None:
        """The verified blob of ``f`` when the store has it whole."""
        blob = self.blob(repo, f)
        try:
            return blob if blob.stat().st_size == f.size else None
        except OSError:
            return None

    def record(self, listing: Listing, tree: TreeCache | None) -> None:
        """Write the revision's ref and tree cache; link the blobs already present."""
        target = self.target(listing.repo, listing.commit)
        target.prepare()
        for f in listing.files:
            if target.is_present(f):
                with contextlib.suppress(OSError, KuaidiError):
                    target.link(f)
        target.finish(listing, tree_cache(listing, tree))

    def cached(self, repo: RepoRef) -> Listing | None:
        """What the store knows of ``repo.revision`` with no upstream (refs + tree cache)."""
        found = cached_revision(self.cache_dir, repo)
        if found is None:
            return None
        commit, files = found
        return Listing(dataclasses.replace(repo), commit, files, source="cache")
