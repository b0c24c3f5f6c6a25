"""A blob's state in a run: :class:`FileTask` and its :class:`FileState`.

The scheduler's fields are guarded by the scheduler's lock; ``io`` and ``route`` are separate
objects, each with its own one lock (see :class:`FileTask`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kuaidi.model import Placement, RemoteFile, Route
from kuaidi.transfer.fileio import FileIO
from kuaidi.transfer.routing import RouteState
from kuaidi.transfer.segment import Segment


class FileState(enum.Enum):
    PENDING = "pending"
    LOCK_WAIT = "lock-wait"  # another process holds the blob lock; re-check later
    ACTIVE = "active"
    VERIFYING = "verifying"
    DONE = "done"  # fetched and verified in this run
    PRESENT = "present"  # already there, nothing fetched
    FAILED = "failed"


TERMINAL = (FileState.DONE, FileState.PRESENT, FileState.FAILED)


@dataclass(eq=False)
class FileTask:
    """One blob to deliver (several repo paths may share it): the scheduler's state of it,
    guarded by the scheduler's lock (counters only its workers bump: ``fetched``,
    ``retries``, ``refusals``), plus two parts each guarded in one place of its own:
    ``io`` (:class:`~kuaidi.transfer.fileio.FileIO`: fd, journal, hash; its own lock) and
    ``route`` (:class:`~kuaidi.transfer.routing.RouteState`: the ladder; the routing lock)."""

    files: list[RemoteFile]
    placement: Placement
    routes: list[Route]
    state: FileState = FileState.PENDING
    segments: list[Segment] = field(default_factory=list)
    single_stream: bool = False  # the server ignored Range
    verify_failures: int = 0
    fetched: int = 0  # bytes received in this run
    resumed: int = 0  # bytes already on disk from an earlier run
    retries: int = 0  # decided retries (requests after the first), as reported to the user
    failures: int = 0  # failed attempts in a row without new bytes, over all its segments
    refusals: int = 0  # 403s in a row from a download URL its resolve had just given
    proven: bool = False  # a response proved the server serves this file (206, or 200)
    error: str | None = None
    kind: str | None = None  # the kuaidi.errors class name of the failure
    wait_until: float = 0.0
    io: FileIO = field(init=False, repr=False)
    route: RouteState = field(default_factory=RouteState, repr=False)

    def __post_init__(self) -> None:
        self.io = FileIO(self.placement, self.files[0])

    @property
    def remote(self) -> RemoteFile:
        return self.files[0]

    @property
    def size(self) -> int:
        return self.files[0].size

    # The ladder's fields, read through (callers and tests of the one-object era).
    @property
    def served(self) -> dict[str, int]:
        return self.route.served

    @property
    def dead(self) -> dict[int, str]:
        return self.route.dead

    @property
    def pinned(self) -> int | None:
        return self.route.pinned

    @property
    def attempt_routes(self) -> set[int]:
        return self.route.attempt_routes

    @attempt_routes.setter
    def attempt_routes(self, value: set[int]) -> None:
        self.route.attempt_routes = value
