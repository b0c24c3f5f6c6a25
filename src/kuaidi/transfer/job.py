"""What the engine is asked to do and what it reports: options and outcomes (jobs:
:class:`kuaidi.model.FileJob`).

Plain values shared by :mod:`kuaidi.transfer.engine` and its callers (``kuaidi.get``, tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kuaidi.net.policy import Policy, default_policy

MiB = 1 << 20
# fetched: bytes arrived and verified this run; present: a verified copy was already in place;
# planned: a dry run's file (nothing fetched).
FileStatus = Literal["fetched", "present", "failed", "planned"]


@dataclass(frozen=True)
class EngineOptions:
    connections: int = 8
    stall_timeout: float = 20.0  # no byte for this long → cancel and requeue the range
    max_retries: int = 8  # consecutive failures without progress before a file fails
    verify_attempts: int = 3  # full fetches of a file that fails its hash before giving up
    min_split: int = 1 * MiB  # never steal halves smaller than this
    flush_bytes: int = 1 * MiB  # journal progress at least this often per connection ...
    flush_seconds: float = 1.0  # ... or this often, whichever comes first
    piece: int = 32 * MiB  # ranges are handed out in pieces of this size, in file order
    min_speed: int = 4096  # bytes/s over a stall_timeout window; slower counts as a stall
    route_retries: int = 2  # failures in a row on one route before a file moves down the ladder
    share_min: int = 64 * MiB  # files this large are spread over every equal domestic source
    share: bool = True
    # Retry rules and the per-host backoff gate, shared with the listings (kuaidi.net.policy).
    policy: Policy = field(default_factory=default_policy)
    seed: int | None = None


@dataclass
class FileOutcome:
    path: str
    size: int
    status: FileStatus
    bytes_fetched: int = 0
    retries: int = 0
    error: str | None = None
    sources: dict[str, int] = field(default_factory=dict)  # source name -> bytes it served
    # Why it failed, as a class name of kuaidi.errors ("GatedRepo", "TokenRejected",
    # "EntryNotFound", "VerificationFailed", "SourceUnavailable", …): callers branch on this,
    # never on the text of ``error``.
    kind: str | None = None


class Outcomes:
    """``ok`` and ``failed`` over ``files``: a run's report and ``kuaidi.get.Result`` alike."""

    files: list[FileOutcome]

    @property
    def ok(self) -> bool:
        return all(f.status != "failed" for f in self.files)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]


@dataclass
class RunReport(Outcomes):
    files: list[FileOutcome]
    bytes_fetched: int
    retries: int
