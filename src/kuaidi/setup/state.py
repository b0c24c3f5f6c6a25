"""Undo state under ``$XDG_STATE_HOME/kuaidi/setup``: a pristine copy of every file as it was
before kuaidi first touched it, and the sha256 of what kuaidi last wrote there.

    manifest.json  {"version": 1, "files": {path: {...}}, "created_dirs": [...],
                    "moved_caches": {VAR: directory}}
    pristine/<n>   the original bytes of file n

``moved_caches``: where ``kuaidi cache move`` put a cache (``HF_HUB_CACHE`` → the new directory).
The data lives there now, so every later ``kuaidi setup`` renders that location instead of its
own default; undo forgets it with everything else (move left a link at the old path).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kuaidi.atomic import sha256_text, write_atomic
from kuaidi.errors import KuaidiError

VERSION = 1


@dataclass
class FileRecord:
    """One file kuaidi wrote."""

    existed: bool  # False: undo deletes it
    pristine: str | None  # name under pristine/ (None when it did not exist)
    pristine_sha256: str | None
    mode: int | None
    written_sha256: str | None = None  # what kuaidi last wrote
    pending_sha256: str | None = None  # what kuaidi is writing now (set until the write is done)


@dataclass
class Manifest:
    """Everything undo needs."""

    files: dict[str, FileRecord] = field(default_factory=dict)
    created_dirs: list[str] = field(default_factory=list)
    moved_caches: dict[str, str] = field(default_factory=dict)


class UndoState:
    """The state directory of one ``$HOME``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.manifest_path = directory / "manifest.json"

    def exists(self) -> bool:
        """True when there is something to undo."""
        return self.manifest_path.is_file()

    def load(self) -> Manifest:
        """The manifest (empty when none)."""
        if not self.manifest_path.is_file():
            return Manifest()
        try:
            raw = json.loads(self.manifest_path.read_text("utf-8"))
            files = {p: FileRecord(**rec) for p, rec in raw.get("files", {}).items()}
            moved = {str(k): str(v) for k, v in raw.get("moved_caches", {}).items()}
            return Manifest(files, list(raw.get("created_dirs", [])), moved)
        except (ValueError, TypeError, AttributeError) as exc:
            raise KuaidiError(
                f"kuaidi's undo record {self.manifest_path} is unreadable ({exc})",
                fix=f"the original files are in {self.directory / 'pristine'}; "
                "copy back what you need, then delete that directory",
            ) from exc

    def save(self, manifest: Manifest) -> None:
        """Write the manifest atomically (it is only ever replaced whole)."""
        raw = {
            "version": VERSION,
            "files": {p: asdict(rec) for p, rec in manifest.files.items()},
            "created_dirs": manifest.created_dirs,
            "moved_caches": manifest.moved_caches,
        }
        write_atomic(self.manifest_path, json.dumps(raw, indent=2, ensure_ascii=False) + "\n")

    def prepare(self, manifest: Manifest) -> None:
        """Create the state directory, noting which of its parents kuaidi created (undo removes)."""
        if not self.exists():
            for parent in _missing_parents(self.manifest_path):
                if str(parent) not in manifest.created_dirs:
                    manifest.created_dirs.append(str(parent))
        self.directory.mkdir(parents=True, exist_ok=True)

    @property
    def lock_path(self) -> Path:
        """Serialises concurrent setup / undo runs of one HOME."""
        return self.directory / ".lock"

    def remember(self, manifest: Manifest, path: Path, old: str | None) -> None:
        """Record ``path``'s pristine content the first time kuaidi is about to write it."""
        key = str(path)
        if key in manifest.files:
            return
        for parent in _missing_parents(path):
            if str(parent) not in manifest.created_dirs:
                manifest.created_dirs.append(str(parent))
        if old is None:
            manifest.files[key] = FileRecord(False, None, None, None)
        else:
            name = f"{len(manifest.files):03d}-{path.name}"
            mode = path.stat().st_mode & 0o7777
            write_atomic(self.directory / "pristine" / name, old, mode=0o600)
            manifest.files[key] = FileRecord(True, name, sha256_text(old), mode)
        self.save(manifest)

    def pristine_text(self, record: FileRecord) -> str | None:
        """The original content of a recorded file (None when it did not exist)."""
        if record.pristine is None:
            return None
        return (self.directory / "pristine" / record.pristine).read_bytes().decode("utf-8")

    def clear(self) -> None:
        """Forget everything (after a complete undo)."""
        pristine = self.directory / "pristine"
        if pristine.is_dir():
            for item in pristine.iterdir():
                item.unlink()
            pristine.rmdir()
        for item in (self.manifest_path, self.lock_path):
            if item.exists():
                item.unlink()
        for directory in (self.directory, self.directory.parent):
            try:
                directory.rmdir()  # only when empty: keeps anything else kuaidi keeps there
            except OSError:
                break


def _missing_parents(path: Path) -> list[Path]:
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    return missing


def file_sha256(path: Path) -> str | None:
    """sha256 of a file's bytes (None when absent)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


__all__ = ["FileRecord", "Manifest", "UndoState", "file_sha256"]
