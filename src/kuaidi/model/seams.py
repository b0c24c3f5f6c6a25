"""The two seams of a download: a :class:`Source` the ladder plans over, a :class:`Target` the
engine writes into. Both are Protocols: ``kuaidi.sources`` and ``kuaidi.store`` implement them
without importing the engine, and the engine uses them without importing either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kuaidi.model.repo import Listing, RemoteFile, RepoRef
from kuaidi.model.route import Route, RouteKind


class Source(Protocol):
    """A place that serves a repo's files over plain HTTP: it lists a revision and builds the
    :class:`Route` that GETs one file (``HFSource``, ``OriginSource``, ``ModelScopeSource``)."""

    name: str
    kind: RouteKind

    def list(self, repo: RepoRef) -> Listing:
        """Resolve ``repo.revision`` to a commit and list every file with size and hashes."""
        ...

    def route(self, repo: RepoRef, commit: str, path: str) -> Route:
        """How to GET ``path`` of ``repo`` at ``commit``, the token scoped to this source."""
        ...


@dataclass(frozen=True)
class Placement:
    """The on-disk paths for one file of a run."""

    part: Path  # partial bytes, written with pwrite at their offsets
    journal: Path  # completed ranges of ``part`` (see kuaidi.transfer.journal)
    lock: Path  # filelock shared with huggingface_hub for the same blob
    final: Path  # where the verified bytes end up


class Target(Protocol):
    """A download layout (the HF cache, or a plain local directory).

    The engine only ever writes ``Placement.part`` (and its journal) and asks the target to
    ``install`` it once verified, so a file appears at its final path only when it is whole and
    correct.
    """

    root: Path

    def placement(self, file: RemoteFile) -> Placement: ...

    def is_present(self, file: RemoteFile) -> bool:
        """True when a verified copy of ``file`` is already in place (nothing to fetch)."""
        ...

    def install(self, file: RemoteFile, part: Path) -> None:
        """Move the verified ``part`` into place and make it visible at its repo path."""
        ...

    def link(self, file: RemoteFile) -> None:
        """Make an already present blob visible at its repo path for this commit."""
        ...

    def finish(self, listing: Listing, tree: dict[str, dict[str, Any]] | None) -> Path:
        """Record the revision (refs, tree cache); return the folder holding the files."""
        ...
