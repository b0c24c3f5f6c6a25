"""What is in an HF cache, as the lifecycle verbs need it: hub's own scan, plus what it misses.

huggingface_hub's ``scan_cache_dir`` gives repos, revisions, refs and which blobs each revision
uses; kuaidi adds what the lifecycle verbs also need: orphan blobs (in ``blobs/`` but linked by no
snapshot), partial downloads of both writers (kuaidi's ``<etag>.kuaidi-part`` + ``.kuaidi-journal``,
hub's ``<etag>[.<uuid>].incomplete``) and whether their writer still runs (it holds
``.locks/<repo>/<etag>.lock``, the lock both writers take).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuaidi.errors import ConfigError, PathError, UsageError
from kuaidi.units import format_size

REPO_KINDS = ("models", "datasets", "spaces")
_PARTIAL = re.compile(r"^(?P<etag>[^.]+)(?:\.[^.]+)?\.(?:incomplete|kuaidi-part|kuaidi-journal)$")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """``30d`` / ``12h`` / ``2w`` / ``90m`` / ``45s`` → seconds; UsageError otherwise.

    >>> parse_age("30d")
    2592000.0
    """
    m = _AGE.match(text)
    if not m:
        raise UsageError(
            f"--older-than {text!r} is not a duration", fix="write e.g. 30d, 12h, 2w or 90m"
        )
    return float(m.group(1)) * _AGE_UNITS[m.group(2)]


def hub_scan(cache: Path) -> Any:
    """huggingface_hub's ``scan_cache_dir(cache)``; one line when hub or the cache is absent."""
    try:
        from huggingface_hub import scan_cache_dir
    except ImportError as exc:
        raise ConfigError(
            "this verb reads the cache with huggingface_hub, which is not installed",
            fix="pip install 'kuaidi[hf]'",
        ) from exc
    if not cache.is_dir():
        raise PathError(
            f"no HF cache at {cache}", fix="pass --cache-dir DIR (or set HF_HUB_CACHE / HF_HOME)"
        )
    return scan_cache_dir(cache)


def repo_dirs(cache: Path) -> Iterator[Path]:
    """Every ``models--*`` / ``datasets--*`` / ``spaces--*`` folder of ``cache``."""
    if not cache.is_dir():
        return
    for folder in sorted(cache.iterdir()):
        kind, sep, _ = folder.name.partition("--")
        if sep and kind in REPO_KINDS and folder.is_dir() and not folder.is_symlink():
            yield folder


def repo_label(folder: Path) -> tuple[str, str]:
    """``models--org--name`` → ``("model", "org/name")``."""
    kind, _, rest = folder.name.partition("--")
    return kind[:-1], rest.replace("--", "/")


def snapshot_entries(folder: Path) -> dict[str, dict[str, Path]]:
    """``{commit: {repo path: snapshot entry}}`` — entries may be dangling links."""
    out: dict[str, dict[str, Path]] = {}
    snaps = folder / "snapshots"
    if not snaps.is_dir():
        return out
    for snap in sorted(snaps.iterdir()):
        if not snap.is_dir():
            continue
        files: dict[str, Path] = {}
        for dirpath, _dirs, names in os.walk(snap):
            for name in names:
                entry = Path(dirpath) / name
                files[entry.relative_to(snap).as_posix()] = entry
        out[snap.name] = files
    return out


def link_target(entry: Path) -> Path:
    """The blob a snapshot entry points at (lexically, so a dangling link still names it)."""
    if not entry.is_symlink():
        return entry
    return Path(os.path.normpath(entry.parent / os.readlink(entry)))


def referenced_blobs(folder: Path) -> set[Path]:
    """Every blob some snapshot of ``folder`` links to."""
    return {link_target(e) for files in snapshot_entries(folder).values() for e in files.values()}


def lock_path(cache: Path, folder: Path, etag: str) -> Path:
    """``.locks/<repo>/<etag>.lock``: huggingface_hub's and kuaidi's writer lock for a blob."""
    return cache / ".locks" / folder.name / f"{etag}.lock"


def lock_held(path: Path) -> bool:
    """True when a live process holds the flock on ``path``. Opened read-only, so probing (even
    in a dry run) changes no byte and creates no file; filelock's own acquire would truncate it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def is_partial(name: str) -> bool:
    """A partial download of either writer (never a finished blob)."""
    return _PARTIAL.match(name) is not None


def partial_etag(name: str) -> str:
    m = _PARTIAL.match(name)
    return m.group("etag") if m else name


def disk_bytes(path: Path) -> int:
    """Bytes a path frees when removed: allocated blocks (sparse partials count what they use),
    a directory's regular files each counted once, symlinks not followed."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return 0
    if path.is_symlink():
        return 0
    if not path.is_dir():
        return st.st_blocks * 512 if st.st_nlink == 1 else 0
    seen: set[int] = set()
    total = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            p = Path(dirpath) / name
            with contextlib.suppress(FileNotFoundError):
                s = p.lstat()
                if not p.is_symlink() and s.st_ino not in seen:
                    seen.add(s.st_ino)
                    total += s.st_blocks * 512
    return total


@dataclass(frozen=True)
class Victim:
    """One path a removal deletes, what it is and what deleting it frees."""

    path: Path
    what: str  # repo | revision | ref | blob | orphan-blob | partial
    label: str  # e.g. "model org/name@1a2b3c4d" or the blob's file name
    bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "what": self.what, "label": self.label, "bytes": self.bytes}


# Removal order: names first, content last, so a kill in between leaves at worst orphan blobs
# (which the next prune collects), never a snapshot pointing at a removed blob.
_ORDER = {"ref": 0, "revision": 1, "repo": 2, "blob": 3, "orphan-blob": 3, "partial": 4}


@dataclass
class Removal:
    """A deletion plan: computed once, printed by ``--dry-run``, carried out by :meth:`execute`."""

    cache: Path
    victims: list[Victim] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what was kept, and why (live writers…)

    @property
    def freed(self) -> int:
        return sum(v.bytes for v in self.victims)

    def add(self, victim: Victim) -> None:
        if all(v.path != victim.path for v in self.victims):
            self.victims.append(victim)

    def ordered(self) -> list[Victim]:
        return sorted(self.victims, key=lambda v: (_ORDER[v.what], str(v.path)))

    def to_json(self, *, dry_run: bool) -> dict[str, Any]:
        return {
            "cache_dir": str(self.cache),
            "dry_run": dry_run,
            "freed": self.freed,
            "freed_human": format_size(self.freed),
            "removed": [v.to_json() for v in self.ordered()],
            "skipped": self.skipped,
        }

    def execute(self) -> list[Victim]:
        """Delete every victim (already-gone ones are fine: a rerun after a kill completes)."""
        done = []
        for v in self.ordered():
            try:
                if v.path.is_dir() and not v.path.is_symlink():
                    shutil.rmtree(v.path)
                else:
                    v.path.unlink()
            except FileNotFoundError:
                pass
            except PermissionError as exc:
                raise PathError(
                    f"cannot remove {v.path}: permission denied",
                    fix=f"check the owner of {self.cache} (run as that user)",
                ) from exc
            done.append(v)
        # A repo whose last snapshot went may leave an empty snapshots/ dir: harmless, hub-like.
        return done
