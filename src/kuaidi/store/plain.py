"""A plain output path (``kuaidi get URL -o PATH``): the partial, its journal and lock sit next
to it as dot files, so a killed run resumes when the same command runs again and the final
name appears only once the bytes are verified.

    big.bin                      the verified file (absent until then)
    .big.bin.kuaidi-part         bytes at their offsets
    .big.bin.kuaidi-journal      which ranges of the part are on disk (kuaidi.transfer.journal)
    .big.bin.kuaidi-lock         one writer per output path
    .big.bin.kuaidi-part.json    what the server said the file was (size, ETag, Last-Modified):
                                 a changed file upstream discards the partial instead of mixing
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from kuaidi.model import Listing, Placement, RemoteFile
from kuaidi.model.digest import sha256_file
from kuaidi.store.atomic import fsync_dir, write_text_atomic


class PlainTarget:
    """One file at ``final`` (the engine's ``RemoteFile.path`` is only its display name)."""

    def __init__(self, final: Path) -> None:
        self.final = Path(final)
        self.root = self.final.parent

    def _dot(self, suffix: str) -> Path:
        return self.final.with_name(f".{self.final.name}.{suffix}")

    def placement(self, file: RemoteFile) -> Placement:
        return Placement(
            part=self._dot("kuaidi-part"),
            journal=self._dot("kuaidi-journal"),
            lock=self._dot("kuaidi-lock"),
            final=self.final,
        )

    @property
    def validators_path(self) -> Path:
        return self._dot("kuaidi-part.json")

    def is_present(self, file: RemoteFile) -> bool:
        """The final file exists with the right size (and sha256, when one is expected)."""
        try:
            if self.final.stat().st_size != file.size:
                return False
        except OSError:
            return False
        if not file.sha256:
            return True
        return sha256_file(self.final) == file.sha256

    def keep_validators(self, validators: dict[str, Any]) -> str | None:
        """Record what the partial is a partial *of*; if an older partial was of something else
        (size or a strong validator changed), discard it and say so."""
        path, note = self.validators_path, None
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = None
        part = self._dot("kuaidi-part")
        if old is not None and old != validators and part.exists():
            for stale in (part, self._dot("kuaidi-journal")):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
            note = "the file changed on the server since the last run: starting over"
        if old != validators:
            write_text_atomic(path, json.dumps(validators, sort_keys=True))
        return note

    def install(self, file: RemoteFile, part: Path) -> None:
        if self.final.is_symlink() or self.final.is_dir():
            self.final.unlink()
        os.replace(part, self.final)
        fsync_dir(self.final.parent)
        with contextlib.suppress(FileNotFoundError):
            self.validators_path.unlink()

    def link(self, file: RemoteFile) -> None:
        pass  # nothing beyond the file itself

    def finish(self, listing: Listing, tree: dict[str, dict[str, Any]] | None) -> Path:
        return self.final
