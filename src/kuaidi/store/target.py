"""Helpers over a layout (:class:`kuaidi.model.Target`, the seam the transfer engine writes into).

Two layouts implement it: :class:`kuaidi.store.hf_cache.HFCacheTarget` and
:class:`kuaidi.store.local_dir.LocalDirTarget`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from kuaidi.model import RemoteFile, Target
from kuaidi.store.atomic import write_text_atomic


def write_tree_cache(folder: Path, commit: str, tree: dict[str, dict[str, Any]]) -> None:
    """Write huggingface_hub 2.x's ``trees/<commit>.json`` so it can list this commit offline."""
    data = {"format_version": 1, "files": {p: tree[p] for p in sorted(tree)}}
    write_text_atomic(folder / "trees" / f"{commit}.json", json.dumps(data, indent=1))


class RepoTarget(Target, Protocol):
    """A repo layout that makes its folders before the run (both layouts above)."""

    def prepare(self) -> None:
        """Create the folders the run writes into (raises OSError when it cannot)."""
        ...


class Refetch:
    """A target whose files are never "present": ``force_download`` fetches every one again
    into a partial and replaces the old file only once the new bytes are verified."""

    def __init__(self, target: RepoTarget) -> None:
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
