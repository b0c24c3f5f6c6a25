"""``kuaidi cache verify --repair``: find every snapshot file whose blob is missing or does not
hash to its name (offline), then fetch exactly those files again through the route ladder
(:func:`kuaidi.get.download` with ``files=[…]`` at the snapshot's commit).

Walks the snapshots itself rather than hub's ``scan_cache_dir``: hub drops a repo with a dangling
link from its scan, and a dangling link (a blob deleted or never finished) is one of the two
things this must find.
"""

from __future__ import annotations

import inspect
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kuaidi.cache.scan import link_target, repo_dirs, repo_label, snapshot_entries
from kuaidi.errors import KuaidiError, RepoNotFound
from kuaidi.store.inspect import blob_ok
from kuaidi.units import format_size


@dataclass(frozen=True)
class BadFile:
    """A file of a cached revision that is not what the repo says."""

    repo_type: str
    repo_id: str
    commit: str
    path: str  # repo path, e.g. "model.safetensors"
    blob: Path
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "repo_type": self.repo_type,
            "repo_id": self.repo_id,
            "commit": self.commit,
            "path": self.path,
            "blob": str(self.blob),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Check:
    """What an offline check saw: files checked (per revision) and what is bad."""

    files: int
    bad: list[BadFile]


def _tree_sizes(folder: Path, commit: str) -> dict[str, int]:
    """Sizes the listing gave, from ``trees/<commit>.json`` when kuaidi or hub 2.x wrote it."""
    try:
        raw = json.loads((folder / "trees" / f"{commit}.json").read_text("utf-8"))
        return {p: int(e["size"]) for p, e in raw.get("files", {}).items() if "size" in e}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def check(cache: Path, repo_ids: Sequence[str] = ()) -> Check:
    """Re-hash (once per blob) every file of every cached revision of ``repo_ids`` (all: empty)."""
    folders = [f for f in repo_dirs(cache) if not repo_ids or repo_label(f)[1] in repo_ids]
    missing = set(repo_ids) - {repo_label(f)[1] for f in folders}
    if missing:
        name = sorted(missing)[0]
        raise RepoNotFound(
            f"{name} is not in the cache {cache}",
            fix=f"check the id with `kuaidi cache list`, or fetch it: kuaidi get {name}",
        )
    verdicts: dict[Path, str] = {}  # blob -> "" (ok) or the reason
    bad: list[BadFile] = []
    files = 0
    for folder in folders:
        kind, repo_id = repo_label(folder)
        for commit, entries in snapshot_entries(folder).items():
            sizes = _tree_sizes(folder, commit)
            for path, entry in sorted(entries.items()):
                files += 1
                blob = link_target(entry)
                if blob not in verdicts:
                    verdicts[blob] = _verdict(blob, sizes.get(path))
                if verdicts[blob]:
                    bad.append(BadFile(kind, repo_id, commit, path, blob, verdicts[blob]))
    return Check(files, bad)


def _verdict(blob: Path, expected: int | None) -> str:
    if not blob.exists():
        return "missing (the snapshot links to a blob that is not there)"
    size = blob.stat().st_size
    if expected is not None and size < expected:
        shown = (
            f"{size:,} of {expected:,} bytes"
            if expected < 10 << 20
            else f"{format_size(size)} of {format_size(expected)}"
        )
        return f"truncated: {shown}"
    ok, reason = blob_ok(blob)
    return "" if ok else f"corrupt: {reason}"


@dataclass(frozen=True)
class Repaired:
    """One file after ``--repair``: fixed, or still bad and why."""

    file: BadFile
    ok: bool
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**self.file.to_json(), "repaired": self.ok, "error": self.error}


def repair(
    cache: Path,
    bad: Sequence[BadFile],
    *,
    download: Callable[..., Any] | None = None,
    **download_kwargs: Any,
) -> list[Repaired]:
    """Fetch the files of ``bad`` again, repo by repo, at their own commit; re-check each."""
    if download is None:
        from kuaidi.get import download as get_download

        download = get_download
    force = "force_download" in inspect.signature(download).parameters
    groups: dict[tuple[str, str, str], list[BadFile]] = defaultdict(list)
    first: dict[Path, BadFile] = {}  # a blob shared by revisions is fetched once
    for b in bad:
        if b.blob not in first:
            first[b.blob] = b
            groups[(b.repo_type, b.repo_id, b.commit)].append(b)
    out: list[Repaired] = []
    for (kind, repo_id, commit), items in groups.items():
        if kind not in ("model", "dataset"):
            out += [Repaired(b, False, f"{kind} repos cannot be fetched by kuaidi") for b in items]
            continue
        extra = dict(download_kwargs)
        if force:
            extra["force_download"] = True
        else:
            # Without --force-download a blob of the right size counts as present: drop the
            # bad ones so the ladder fetches them (they are wrong bytes, nothing is lost).
            for b in items:
                b.blob.unlink(missing_ok=True)
        paths = sorted({b.path for b in items})
        try:
            result = download(
                repo_id, paths, repo_type=kind, revision=commit, cache_dir=cache, **extra
            )
            failed = {f.path: f.error or "failed" for f in result.failed}
        except KuaidiError as exc:  # names the cause: source down, repo gone, …
            failed = {p: str(exc) for p in paths}
        after = {b.blob: _verdict(b.blob, None) for b in items}
        for b in items:
            error = failed.get(b.path) or after[b.blob]
            out.append(Repaired(b, not error, error))
    done = {r.file.blob: r for r in out}
    return [r if (r := done[b.blob]).file is b else Repaired(b, r.ok, r.error) for b in bad]
