"""Where a verified file lands: the contract between the transfer engine and a layout.

The engine only ever writes ``Placement.part`` (and its journal) and asks the target to
``install`` it once verified, so a file appears at its final path only when it is whole and
correct. Two layouts implement it: :class:`kuaidi.store.hf_cache.HFCacheTarget` and
:class:`kuaidi.store.local_dir.LocalDirTarget`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kuaidi.sources.base import Listing, RemoteFile
from kuaidi.store.atomic import write_text_atomic


@dataclass(frozen=True)
class Placement:
    """The on-disk paths for one file of a run."""

    part: Path  # partial bytes, written with pwrite at their offsets
    journal: Path  # completed ranges of ``part`` (see kuaidi.transfer.journal)
    lock: Path  # filelock shared with huggingface_hub for the same blob
    final: Path  # where the verified bytes end up


class Target(Protocol):
    """A download layout (the HF cache, or a plain local directory)."""

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


def write_tree_cache(folder: Path, commit: str, tree: dict[str, dict[str, Any]]) -> None:
    """Write huggingface_hub 2.x's ``trees/<commit>.json`` so it can list this commit offline."""
    data = {"format_version": 1, "files": {p: tree[p] for p in sorted(tree)}}
    write_text_atomic(folder / "trees" / f"{commit}.json", json.dumps(data, indent=1))


class Refetch:
    """A target whose files are never "present": ``force_download`` fetches every one again
    into a partial and replaces the old file only once the new bytes are verified."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self.root = target.root

    def is_present(self, file: RemoteFile) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def discard_untouched(target: Target, files: Sequence[RemoteFile], failed: set[str]) -> None:
    """Remove the partials of the ``failed`` paths that hold no byte (refused before the first
    byte arrived, e.g. a gated repo): a sparse full-size file left behind would only mislead
    ``du``, ``kuaidi cache list`` and the user."""
    for f in files:
        if f.path not in failed:
            continue
        placement = target.placement(f)
        try:
            if placement.part.stat().st_blocks == 0:
                placement.part.unlink()
                placement.journal.unlink(missing_ok=True)
        except OSError:
            pass
