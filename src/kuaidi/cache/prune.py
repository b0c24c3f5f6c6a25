"""``kuaidi cache prune``: detached revisions, orphan blobs, and (``--partials``) partial downloads
whose writer is gone. Revisions are planned by huggingface_hub's ``delete_revisions``, so a blob a
kept snapshot links to is never removed; a blob or partial whose lock a live writer holds is
skipped and said so."""

from __future__ import annotations

import time
from pathlib import Path

from kuaidi.cache.rm import from_strategy
from kuaidi.cache.scan import (
    Removal,
    Victim,
    disk_bytes,
    hub_scan,
    is_partial,
    lock_held,
    lock_path,
    partial_etag,
    referenced_blobs,
    repo_dirs,
    repo_label,
)


def plan_prune(
    cache: Path,
    *,
    older_than: float | None = None,
    keep_latest: bool = False,
    partials: bool = False,
    now: float | None = None,
) -> Removal:
    """The prune plan.

    - revisions no ref points at (``hf cache prune``'s rule);
    - with ``older_than`` (seconds): every revision of a repo last accessed before that;
    - with ``keep_latest``: each repo keeps its most recently modified revision whatever the above;
    - blobs no snapshot links to; with ``partials``: partial downloads of dead writers.
    """
    now = time.time() if now is None else now
    cache = Path(cache).resolve()  # hub's plan holds resolved paths; compare like with like
    info = hub_scan(cache)
    hashes: list[str] = []
    for repo in sorted(info.repos, key=lambda r: r.repo_path):
        revs = sorted(repo.revisions, key=lambda r: (r.last_modified, r.commit_hash))
        stale = older_than is not None and repo.last_accessed < now - older_than
        doomed = [r for r in revs if stale or not r.refs]
        if keep_latest and revs:
            doomed = [r for r in doomed if r is not revs[-1]]
        hashes += [r.commit_hash for r in doomed]
    removal = (
        from_strategy(cache, info, info.delete_revisions(*hashes)) if hashes else Removal(cache)
    )
    for warning in info.warnings:
        removal.skipped.append(f"not scanned by huggingface_hub: {warning}")
    gone = {v.path for v in removal.victims if v.what == "repo"}
    for folder in repo_dirs(cache):
        if folder in gone:
            continue
        _blobs(cache, folder, removal, partials)
    return removal


def _blobs(cache: Path, folder: Path, removal: Removal, partials: bool) -> None:
    blobs = folder / "blobs"
    if not blobs.is_dir():
        return
    kind, repo_id = repo_label(folder)
    linked = referenced_blobs(folder)
    for blob in sorted(blobs.iterdir()):
        if blob.is_dir() or blob.name.startswith("."):
            continue  # temp files of live writers are kuaidi get's own sweep
        partial = is_partial(blob.name)
        if partial and not partials:
            continue
        if not partial and blob in linked:
            continue
        lock = lock_path(cache, folder, partial_etag(blob.name))
        if lock_held(lock):
            removal.skipped.append(f"{blob}: its writer is still running ({lock})")
            continue
        what = "partial" if partial else "orphan-blob"
        removal.add(Victim(blob, what, f"{kind} {repo_id}: {blob.name}", disk_bytes(blob)))
