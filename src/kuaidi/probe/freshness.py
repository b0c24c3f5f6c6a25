"""Mirror freshness: tunasync's ``/static/tunasync.json`` and mirrorz's status strings
(mirrors-and-config.md §9), plus comparing what a mirror serves with the other candidates."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

STALE_AFTER = 24 * 3600  # a feed whose last successful sync is older than this: stale
_MIRRORZ = re.compile(r"([SYFPUCRXNO])(\d*)")


@dataclass(frozen=True)
class SyncStatus:
    """What a mirror says about its own last sync of one job."""

    state: str  # success | syncing | failed | paused | unknown | cache | …
    last_success: float | None  # unix time of the last successful sync

    def age(self, now: float | None = None) -> float | None:
        if self.last_success is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.last_success)

    def stale(self, now: float | None = None, limit: float = STALE_AFTER) -> bool:
        """Stale when the last success is older than ``limit`` (a failed sync alone is not)."""
        age = self.age(now)
        return age is not None and age > limit


def parse_tunasync(doc: Any, job: str) -> SyncStatus | None:
    """The entry named ``job`` in a tunasync.json array."""
    if not isinstance(doc, list):
        return None
    for entry in doc:
        if isinstance(entry, dict) and entry.get("name") == job:
            ts = entry.get("last_update_ts")
            last = float(ts) if isinstance(ts, int | float) and ts > 0 else None
            return SyncStatus(str(entry.get("status", "unknown")), last)
    return None


_MIRRORZ_STATES = {
    "S": "success",
    "Y": "syncing",
    "F": "failed",
    "P": "paused",
    "U": "unknown",
    "C": "cache",
    "R": "reverse-proxy",
}


def parse_mirrorz(doc: Any, job: str) -> SyncStatus | None:
    """The mirror with ``cname == job`` in a mirrorz.json document (``status`` like
    ``S1700000000X1700003600``, or ``F…O<last success>``)."""
    mirrors = doc.get("mirrors") if isinstance(doc, dict) else None
    if not isinstance(mirrors, list):
        return None
    for entry in mirrors:
        if not isinstance(entry, dict) or entry.get("cname") != job:
            continue
        codes = dict(_MIRRORZ.findall(str(entry.get("status", ""))))
        main = next((c for c in _MIRRORZ_STATES if c in codes), "U")
        stamp = codes.get("S") or codes.get("O")
        return SyncStatus(_MIRRORZ_STATES[main], float(stamp) if stamp else None)
    return None


def parse_status(doc: Any, fmt: str | None, job: str) -> SyncStatus | None:
    if fmt == "mirrorz":
        return parse_mirrorz(doc, job)
    return parse_tunasync(doc, job)


def version_key(text: str) -> tuple:
    """A sort key for a version string: PEP 440 when ``packaging`` is importable, else numeric
    parts (enough to order ``1.10.0`` after ``1.9.2``)."""
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:  # pragma: no cover - packaging ships with pip almost everywhere
        Version = None  # type: ignore[assignment,misc]  # a class or None: checked just below
    if Version is not None:
        try:
            return (1, Version(text))
        except InvalidVersion:
            pass
    return (0, tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.\-+]", text)))
