"""The seams between the request path and the server's bookkeeping (stats, disk budget).

The request path (``serve.app`` and the fill machinery) calls these; ``serve.stats`` and
``serve.budget`` implement them. The null forms let the request path run, and be tested,
without either.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from kuaidi.model.repo import Listing, RepoRef


class FillObserver(Protocol):
    """One upstream fill of one blob, as the status page shows it."""

    def progress(self, nbytes: int) -> None:
        """``nbytes`` more bytes of this blob arrived from upstream."""

    def finished(self, ok: bool) -> None:
        """The fill ended: verified and complete (``ok``) or failed."""


class Stats(Protocol):
    """What the server counts: fills, bytes served (from cache or not), the ladder in use."""

    def fill_started(self, repo: str, path: str, size: int) -> FillObserver:
        """A fill of ``repo``'s ``path`` (``size`` bytes) started upstream."""

    def served(self, repo: str, nbytes: int, *, hit: bool) -> None:
        """``nbytes`` of ``repo`` went to a client; ``hit`` when they came from the cache."""


class Budget(Protocol):
    """The disk budget (``--max-size``): what is in use may not be evicted."""

    def in_use(self, blob: Path) -> AbstractContextManager[None]:
        """Hold ``blob`` while it is served or filled, so eviction skips it."""

    def touched(self, repo_dir: Path) -> None:
        """A client used the repo cached at ``repo_dir`` (its last-use time moves)."""

    def added(self, nbytes: int) -> None:
        """``nbytes`` were added to the store; evict least-recently-used repos if over budget."""


class _NullFill:
    def progress(self, nbytes: int) -> None:
        pass

    def finished(self, ok: bool) -> None:
        pass


class NullStats:
    """Counts nothing."""

    def fill_started(self, repo: str, path: str, size: int) -> FillObserver:
        return _NullFill()

    def served(self, repo: str, nbytes: int, *, hit: bool) -> None:
        pass


class NullBudget:
    """No ``--max-size``: the store grows without bound."""

    @contextmanager
    def in_use(self, blob: Path) -> Iterator[None]:
        yield

    def touched(self, repo_dir: Path) -> None:
        pass

    def added(self, nbytes: int) -> None:
        pass


class BlobReader(Protocol):
    """The bytes of one file of a snapshot, from the cache or from a fill in progress.

    ``chunks`` yields ``[start, end)`` in order as the bytes land; a fill that fails (upstream
    down, verification failed) raises from the iterator, so the front aborts the response
    instead of ending it cleanly.
    """

    size: int

    def chunks(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)`` (``end`` None: to the end of the file)."""


class Hub(Protocol):
    """What a protocol front (``serve.app`` for HF, ``serve.modelscope``) needs from the store and
    the fill machinery. Raises ``kuaidi.errors`` exceptions the fronts map to their error shapes.
    """

    async def snapshot(self, repo: RepoRef, token: str | None) -> Listing:
        """The listing of ``repo.revision`` (a branch, tag or commit), from cache or upstream."""

    async def open(self, listing: Listing, path: str, token: str | None) -> BlobReader:
        """A reader of ``path`` in ``listing``; starts (or joins) the one fill of its blob."""


class Gate(Protocol):
    """Who may read a gated or private repo (``--share-gated`` aside, only a client whose own
    token the upstream accepts for that repo). Checked once per token and repo, then cached."""

    async def admit(self, repo: RepoRef, token: str | None) -> bool:
        """Whether a client presenting ``token`` (None: anonymous) may read ``repo``."""
