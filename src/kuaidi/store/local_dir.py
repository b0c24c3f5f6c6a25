"""``--local-dir``: real files, plus the metadata ``hf download --local-dir`` trusts.

For each file hub writes ``<dir>/.cache/huggingface/download/<path>.metadata`` with three
lines (commit, etag, unix time); it treats the file as up to date when the commit or etag
matches and ``mtime - 1 <= time``. kuaidi writes the same, so a later ``hf download`` on the
folder downloads nothing. Partials live beside the metadata as ``<path>.<etag>.kuaidi-part``.

``.cache/huggingface/`` is that bookkeeping, so a repo file under it would replace the
``.gitignore`` or a ``.metadata`` file. The Hub refuses to commit anything under ``.cache/``
(huggingface_hub's ``FORBIDDEN_FOLDERS``), so such an entry is a broken or hostile listing:
:func:`admit` skips it with one warning line, and :meth:`LocalDirTarget.placement` refuses it.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kuaidi.errors import KuaidiWarning, UnsafeListing
from kuaidi.model import Listing, Placement, RemoteFile
from kuaidi.store.atomic import fsync_dir, sweep_stale, write_text_atomic
from kuaidi.store.paths import join_inside
from kuaidi.store.target import write_tree_cache

GITIGNORE = "*\n"
META_DIR = ".cache/huggingface"


def reserved(path: str) -> bool:
    """True for a repo path inside (or at) the local dir's metadata folder."""
    return path == META_DIR or path.startswith(META_DIR + "/")


def admit(files: Sequence[RemoteFile]) -> list[RemoteFile]:
    """``files`` without those that would land in ``.cache/huggingface/`` (one warning line)."""
    skipped = [f.path for f in files if reserved(f.path)]
    if not skipped:
        return list(files)
    more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
    warnings.warn(
        f"skipping {skipped[0]!r}{more}: {META_DIR}/ holds the --local-dir metadata, and the "
        "Hub never stores repo files there (the listing is broken or hostile)",
        KuaidiWarning,
        stacklevel=2,
    )
    return [f for f in files if not reserved(f.path)]


class LocalDirTarget:
    """Writes one revision of a repo as plain files under ``root``."""

    def __init__(self, root: Path, commit: str) -> None:
        self.root = Path(root)
        self.commit = commit
        self.meta_root = self.root / ".cache" / "huggingface"
        self.download = self.meta_root / "download"

    def prepare(self) -> None:
        sweep_stale(self.meta_root)  # temp metadata a killed run left behind
        self.download.mkdir(parents=True, exist_ok=True)
        gi = self.meta_root / ".gitignore"
        if not gi.exists():
            write_text_atomic(gi, GITIGNORE)

    def placement(self, file: RemoteFile) -> Placement:
        if reserved(file.path):
            raise UnsafeListing(
                f"{file.path!r} would overwrite the --local-dir metadata in {META_DIR}/",
                fix="leave it out with --exclude, or download into the HF cache instead",
            )
        meta = join_inside(self.download, file.path)
        return Placement(
            part=meta.with_name(f"{meta.name}.{file.etag}.kuaidi-part"),
            journal=meta.with_name(f"{meta.name}.{file.etag}.kuaidi-journal"),
            lock=meta.with_name(f"{meta.name}.lock"),  # hub's lock for this path
            final=join_inside(self.root, file.path),
        )

    def _metadata(self, file: RemoteFile) -> Path:
        return join_inside(self.download, file.path).with_name(f"{Path(file.path).name}.metadata")

    def is_present(self, file: RemoteFile) -> bool:
        final = join_inside(self.root, file.path)
        try:
            st = final.stat()
            lines = self._metadata(file).read_text().splitlines()
            etag, stamp = lines[1].strip(), float(lines[2])
        except (OSError, IndexError, ValueError):
            return False
        return etag == file.etag and st.st_size == file.size and st.st_mtime - 1 <= stamp

    def install(self, file: RemoteFile, part: Path) -> None:
        final = join_inside(self.root, file.path)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_symlink() or final.is_dir():
            final.unlink()  # never write through a symlink placed in the folder
        os.replace(part, final)
        fsync_dir(final.parent)
        self.link(file)

    def link(self, file: RemoteFile) -> None:
        # The metadata is written after the file, so its timestamp is >= the file's mtime.
        write_text_atomic(self._metadata(file), f"{self.commit}\n{file.etag}\n{time.time()}\n")

    def finish(self, listing: Listing, tree: dict[str, dict[str, Any]] | None) -> Path:
        if tree:
            write_tree_cache(self.meta_root, self.commit, tree)
        return self.root
