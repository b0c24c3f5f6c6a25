"""``kuaidi cache rm REPO[@REV]…``: plan with huggingface_hub's ``delete_revisions`` (a blob another
kept revision links to is never in its plan), then delete exactly that plan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kuaidi.cache.scan import (
    Removal,
    Victim,
    disk_bytes,
    hub_scan,
    lock_held,
    repo_dirs,
    repo_label,
)
from kuaidi.errors import RepoNotFound, RevisionNotFound, UsageError


def parse_spec(spec: str, repo_type: str = "model") -> tuple[str, str, str | None]:
    """``org/name[@rev]``, ``datasets/org/name[@rev]`` or ``hf://…`` → (type, id, rev or None).

    >>> parse_spec("datasets/org/d@v1")
    ('dataset', 'org/d', 'v1')
    """
    rest = spec[len("hf://") :] if spec.startswith("hf://") else spec
    for prefix, kind in (("datasets/", "dataset"), ("models/", "model"), ("spaces/", "space")):
        if rest.startswith(prefix) and rest.count("/") >= 2:
            rest, repo_type = rest[len(prefix) :], kind
            break
    repo_id, _, rev = rest.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise UsageError(f"not a repo id: {spec!r}", fix="write org/name or org/name@REVISION")
    return repo_type, repo_id, rev or None


def _folder_name(repo_type: str, repo_id: str) -> str:
    return "--".join([f"{repo_type}s", *repo_id.split("/")])


def from_strategy(cache: Path, info: Any, strategy: Any) -> Removal:
    """Victims of a hub ``DeleteCacheStrategy``, labelled by repo and revision."""
    labels: dict[Path, str] = {}
    for repo in info.repos:
        name = f"{repo.repo_type} {repo.repo_id}"
        labels[repo.repo_path] = name
        for rev in repo.revisions:
            refs = f" ({', '.join(sorted(rev.refs))})" if rev.refs else " (detached)"
            labels[rev.snapshot_path] = f"{name}@{rev.commit_hash[:8]}{refs}"
            for f in rev.files:
                labels.setdefault(f.blob_path, f"{name}: {f.file_name}")
    removal = Removal(cache)
    for path in sorted(strategy.repos):
        removal.add(Victim(path, "repo", labels.get(path, path.name), disk_bytes(path)))
    for path in sorted(strategy.snapshots):
        removal.add(Victim(path, "revision", labels.get(path, path.name), disk_bytes(path)))
    for path in sorted(strategy.refs):
        removal.add(Victim(path, "ref", f"ref {path.name}", 0))
    for path in sorted(strategy.blobs):
        removal.add(Victim(path, "blob", labels.get(path, path.name), disk_bytes(path)))
    return removal


def match_revision(repo: Any, rev: str) -> Any:
    """A revision of ``repo`` by ref name, full commit or a commit prefix of ≥ 7 hex digits."""
    hits = [
        r
        for r in repo.revisions
        if rev in r.refs
        or r.commit_hash == rev
        or (len(rev) >= 7 and r.commit_hash.startswith(rev))
    ]
    if len(hits) != 1:
        known = ", ".join(sorted({*[x for r in repo.revisions for x in r.refs]})) or "none"
        what = "is ambiguous" if hits else "is not cached"
        raise RevisionNotFound(
            f"revision {rev!r} of {repo.repo_id} {what} (refs: {known})",
            fix=f"see the revisions with `kuaidi cache list`, or remove the repo: {repo.repo_id}",
        )
    return hits[0]


def running_writers(cache: Path, folder: Path) -> list[Path]:
    """Lock files of ``folder``'s blobs held by a live download."""
    locks = cache / ".locks" / folder.name
    return [p for p in sorted(locks.glob("*.lock")) if lock_held(p)] if locks.is_dir() else []


def plan_rm(cache: Path, specs: Sequence[str], repo_type: str = "model") -> Removal:
    """What removing ``specs`` deletes; RepoNotFound / RevisionNotFound for what is not cached."""
    if not specs:
        raise UsageError("nothing to remove", fix="name repos: kuaidi cache rm org/name[@rev]")
    cache = Path(cache).resolve()  # hub's plan holds resolved paths; compare like with like
    info = hub_scan(cache)
    by_key = {(r.repo_type, r.repo_id): r for r in info.repos}
    on_disk = {repo_label(f): f for f in repo_dirs(cache)}
    hashes: list[str] = []
    whole: list[Path] = []  # repos hub could not scan (broken): removed as folders
    for spec in specs:
        kind, repo_id, rev = parse_spec(spec, repo_type)
        folder = cache / _folder_name(kind, repo_id)
        busy = running_writers(cache, folder)
        if busy:
            raise UsageError(
                f"a download into {repo_id} is running (it holds {busy[0]})",
                fix="wait for it to finish or stop it, then run kuaidi cache rm again",
            )
        repo = by_key.get((kind, repo_id))
        if repo is None:
            if (kind, repo_id) in on_disk and rev is None:
                whole.append(on_disk[(kind, repo_id)])
                continue
            raise RepoNotFound(
                f"{kind} {repo_id} is not in the cache {cache}",
                fix="check the id with `kuaidi cache list` (datasets: datasets/org/name)",
            )
        revs = list(repo.revisions) if rev is None else [match_revision(repo, rev)]
        hashes += [r.commit_hash for r in revs]
        if rev is None:
            whole.append(repo.repo_path)  # partials and .no_exist go with the repo, too
    removal = from_strategy(cache, info, info.delete_revisions(*hashes)) if hashes else None
    removal = removal or Removal(cache)
    _add_whole(removal, whole)
    return removal


def _add_whole(removal: Removal, folders: Iterable[Path]) -> None:
    for folder in folders:
        kind, repo_id = repo_label(folder)
        # The folder supersedes its parts: drop them so bytes are not counted twice.
        removal.victims = [v for v in removal.victims if folder not in v.path.parents]
        removal.add(Victim(folder, "repo", f"{kind} {repo_id}", disk_bytes(folder)))
