"""A repo, its files and a listing of one revision — and the check every listed path passes.

Every path in a repo listing comes from a server we do not control. Before anything is written,
each one must be a plain relative POSIX path::

    >>> safe_relpath("vae/config.json")
    'vae/config.json'
    >>> safe_relpath("../etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kuaidi.errors.KuaidiError: the server listed an unsafe file path '../etc/passwd' ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PureWindowsPath
from typing import Literal

from kuaidi.errors import KuaidiError

RepoType = Literal["model", "dataset"]


@dataclass(frozen=True)
class RepoRef:
    """A repo as the user named it, in Hugging Face terms (``org/name``, type, revision)."""

    repo_id: str
    repo_type: RepoType = "model"
    revision: str = "main"


@dataclass(frozen=True, slots=True)  # slots: a 1e6-file listing holds 1e6 of these
class RemoteFile:
    """One file of a listed revision, with everything needed to verify it.

    ``sha256`` is known for LFS files on HF and for every file on ModelScope; ``git_sha1`` is the
    git blob id HF lists for non-LFS files. ``etag`` is the name of the blob in the HF cache.
    """

    path: str
    size: int
    sha256: str | None = None
    git_sha1: str | None = None
    lfs: bool = False

    @property
    def etag(self) -> str:
        if self.lfs and self.sha256:
            return self.sha256
        if self.git_sha1:
            return self.git_sha1
        if self.sha256:
            return self.sha256
        raise ValueError(f"{self.path}: listing gave no hash to name the blob by")


@dataclass(frozen=True)
class Listing:
    """What a revision of a repo holds, as one source sees it."""

    repo: RepoRef
    commit: str
    files: list[RemoteFile] = field(default_factory=list)
    source: str = ""


_CONTROL = re.compile(r"[\x00-\x1f]")


def unsafe_reason(path: object) -> str | None:
    """Why ``path`` is not a safe relative repo path, or None when it is safe."""
    if not isinstance(path, str) or path == "":
        return "empty path"
    if "\x00" in path:
        return "NUL byte in path"
    if "\\" in path:
        return "backslash in path"
    if _CONTROL.search(path):
        return "control character in path"
    if path.startswith("/"):
        return "absolute path"
    parts = path.split("/")
    if any(p == "" for p in parts):
        return "empty path component"
    if any(p in (".", "..") for p in parts):
        return "'.' or '..' component"
    # A drive ('C:x') or UNC form is harmless on Linux but escapes on Windows when the
    # same cache is later read there.
    # (Only a component with ':' can have one: this check runs once per listed file.)
    if ":" in path and any(PureWindowsPath(p).drive for p in parts):
        return "drive-letter component"
    return None  # (PurePosixPath(path).is_absolute() is exactly the startswith("/") above)


def safe_relpath(path: object) -> str:
    """Return ``path`` unchanged when it is a safe relative repo path, else raise KuaidiError.

    ``path`` is whatever a server's JSON held: a non-string is refused like an empty path.
    """
    reason = unsafe_reason(path)
    if reason is not None or not isinstance(path, str):
        raise KuaidiError(
            f"the server listed an unsafe file path {path!r} ({reason}); refusing to write it",
            fix="use a trusted endpoint (--endpoint) — a mirror that lists such paths is broken "
            "or hostile",
        )
    return path
