"""``--max-size``: evict least-recently-used repos from the server's HF cache.

:class:`LruBudget` implements :class:`kuaidi.serve.hooks.Budget`. A repo none of whose blobs is
held goes whole; a repo with a held blob (being served or filled, or a live ``kuaidi get`` /
hub writer holding its lock) loses only its revisions that link no held blob, then the blobs no
remaining revision links. Pinned repos are never touched. One log line per eviction.

Last use is kept in ``.locks/kuaidi-serve-last-use.json``: ``.locks`` is the one folder of the
cache root that huggingface_hub's ``scan_cache_dir`` skips, so the file never shows up as a
corrupt repo in ``hf cache scan``. It is written with :mod:`kuaidi.atomic` so restarts keep the
LRU order; a repo it does not know yet ranks by its folder's mtime.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kuaidi.atomic import write_atomic
from kuaidi.cache.rm import parse_spec
from kuaidi.cache.scan import (
    disk_bytes,
    is_partial,
    lock_held,
    lock_path,
    partial_etag,
    repo_dirs,
    repo_label,
    snapshot_entries,
)
from kuaidi.units import format_size

log = logging.getLogger("kuaidi.serve.budget")

LAST_USE_FILE = Path(".locks") / "kuaidi-serve-last-use.json"
WRITE_EVERY = 1.0  # seconds: a busy repo's last use is rewritten at most this often


def last_use_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / LAST_USE_FILE


def load_last_use(cache_dir: Path) -> dict[str, float]:
    """``{repo folder name: unix time}`` as persisted; empty when absent or unreadable."""
    try:
        data = json.loads(last_use_path(cache_dir).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))}


def _folder_for(spec: str) -> str:
    kind, repo_id, _rev = parse_spec(spec)
    return "--".join([f"{kind}s", *repo_id.split("/")])


class LruBudget:
    """Keep ``cache_dir`` at or under ``max_size`` bytes (``hooks.Budget``).

    Thread-safe: fills call ``added`` from the engine's threads while the event loop calls
    ``in_use`` and ``touched``. The loop never waits on a deletion: a whole repo is renamed
    into ``.locks/kuaidi-evicting/`` under the lock (atomic, instant) and deleted after it.
    ``added(0)`` at start-up enforces a lowered ``--max-size``; :meth:`flush` on shutdown keeps
    the last second of uses.
    """

    def __init__(self, cache_dir: Path, max_size: int, pins: Iterable[str] = ()) -> None:
        # Absolute, as in_use() keys are: a relative store must still match its blobs.
        self.cache_dir = Path(os.path.abspath(cache_dir))
        self.max_size = max_size
        self.pinned = {_folder_for(p) for p in pins}
        self._lock = threading.RLock()  # the tables; held only briefly
        self._evicting = threading.Lock()  # one eviction pass at a time
        self._held: Counter[Path] = Counter()
        self._last_use = load_last_use(self.cache_dir)
        self._written = 0.0
        self._used: int | None = None  # a running estimate; rescanned before evicting
        self._trash = self.cache_dir / ".locks" / "kuaidi-evicting"
        shutil.rmtree(self._trash, ignore_errors=True)  # what a killed server left half-deleted

    # hooks.Budget
    @contextmanager
    def in_use(self, blob: Path) -> Iterator[None]:
        key = Path(os.path.abspath(blob))
        with self._lock:
            self._held[key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._held[key] -= 1
                if self._held[key] <= 0:
                    del self._held[key]

    def touched(self, repo_dir: Path) -> None:
        now = time.time()
        with self._lock:
            name = Path(repo_dir).name
            previous = self._last_use.get(name, 0.0)
            self._last_use[name] = max(now, previous)
            if now - self._written >= WRITE_EVERY or now - previous >= WRITE_EVERY:
                self._save()

    def added(self, nbytes: int) -> None:
        with self._lock:
            fresh = self._used is None
            self._used = (self._used or 0) + max(0, nbytes)
        if fresh:
            used = self.size()
            with self._lock:
                self._used = used
        if (self._used or 0) > self.max_size:
            used = self.evict()
            with self._lock:
                self._used = used

    def flush(self) -> None:
        """Persist the last-use record now."""
        with self._lock:
            self._save()

    # the work
    def size(self) -> int:
        """Bytes the cache's repos take on disk now."""
        return sum(disk_bytes(folder) for folder in repo_dirs(self.cache_dir))

    def last_use(self, folder: Path) -> float:
        with self._lock:
            known = self._last_use.get(folder.name)
        if known is not None:
            return known
        try:
            return folder.stat().st_mtime
        except OSError:
            return 0.0

    def evict(self) -> int:
        """Evict until under budget (or nothing more may go); returns the bytes left."""
        with self._evicting:
            used = self.size()
            candidates = [f for f in repo_dirs(self.cache_dir) if f.name not in self.pinned]
            candidates.sort(key=lambda f: (self.last_use(f), f.name))
            for folder in candidates:
                if used <= self.max_size:
                    break
                used -= self._evict_repo(folder)
            shutil.rmtree(self._trash, ignore_errors=True)
            with self._lock:
                self._last_use = {
                    k: v for k, v in self._last_use.items() if (self.cache_dir / k).is_dir()
                }
                self._save()
            if used > self.max_size:
                log.warning(
                    "cache %s is %s, over --max-size %s: the rest is pinned or in use",
                    self.cache_dir,
                    format_size(used),
                    format_size(self.max_size),
                )
            return used

    def _held_etags(self, folder: Path) -> set[str]:
        """(under the lock) etags of ``folder`` being served or filled, here or elsewhere."""
        blobs = folder / "blobs"
        held = {p.name for p in self._held if p.parent == blobs}
        # A writer of another process (kuaidi get, hub) holds the blob's lock while it runs.
        locks = self.cache_dir / ".locks" / folder.name
        if locks.is_dir():
            for lock in locks.glob("*.lock"):
                etag = lock.name[: -len(".lock")]
                if lock_held(lock_path(self.cache_dir, folder, etag)):
                    held.add(etag)
        return held

    def _evict_repo(self, folder: Path) -> int:
        kind, repo_id = repo_label(folder)
        label = f"{kind} {repo_id}"
        with self._lock:
            held = self._held_etags(folder)
            if held:
                return self._evict_parts(folder, label, held)
            freed = disk_bytes(folder)
            self._trash.mkdir(parents=True, exist_ok=True)
            try:
                # Atomic: a client arriving after this finds the repo gone, never half of it.
                os.rename(folder, self._trash / f"{folder.name}.{os.getpid()}")
            except OSError:
                return 0
        shutil.rmtree(self.cache_dir / ".locks" / folder.name, ignore_errors=True)
        log.info("evicted %s (%s, least recently used)", label, format_size(freed))
        return freed

    def _evict_parts(self, folder: Path, label: str, held: set[str]) -> int:
        """Revisions that link no held blob, then blobs no kept revision links and none holds."""
        before = disk_bytes(folder)
        kept: set[str] = set()
        for commit, files in snapshot_entries(folder).items():
            etags = {_etag(e) for e in files.values()}
            if etags & held:
                kept |= etags
                continue
            for ref in _refs_to(folder, commit):
                ref.unlink(missing_ok=True)
            shutil.rmtree(folder / "snapshots" / commit, ignore_errors=True)
            (folder / "trees" / f"{commit}.json").unlink(missing_ok=True)
            log.info("evicted %s@%s (revision; the repo has a blob in use)", label, commit[:8])
        blobs = folder / "blobs"
        for blob in sorted(blobs.iterdir()) if blobs.is_dir() else []:
            etag = partial_etag(blob.name) if is_partial(blob.name) else blob.name
            if etag in held or etag in kept:
                continue
            size = disk_bytes(blob)
            blob.unlink(missing_ok=True)
            log.info("evicted %s: blob %s (%s)", label, blob.name[:16], format_size(size))
        return before - disk_bytes(folder)

    def _save(self) -> None:
        path = last_use_path(self.cache_dir)
        try:
            write_atomic(path, json.dumps(self._last_use, sort_keys=True, indent=0))
        except OSError as exc:  # a read-only cache still serves; LRU order is then per run
            log.warning("cannot record last use in %s: %s", path, exc)
        self._written = time.time()


def _etag(entry: Path) -> str:
    """The blob name a snapshot entry links to (lexically: a dangling link still names it)."""
    return os.readlink(entry).rsplit("/", 1)[-1] if entry.is_symlink() else entry.name


def _refs_to(folder: Path, commit: str) -> list[Path]:
    refs = folder / "refs"
    out = []
    if refs.is_dir():
        for ref in refs.rglob("*"):
            try:
                if ref.is_file() and ref.read_text().strip() == commit:
                    out.append(ref)
            except OSError:
                continue
    return out
