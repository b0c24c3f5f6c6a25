"""The interface every source implements, and the values it returns.

A source never decides where bytes land: it lists what a revision holds and says where to GET
each file. The transfer engine fetches, verifies against the hashes listed here, and the store
writes the Hugging Face cache layout under the *HF* repo id, whatever source served the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

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


@runtime_checkable
class Source(Protocol):
    """A place that can serve a repo's files over plain HTTP (Range-capable or not)."""

    name: str

    def list(self, repo: RepoRef) -> Listing:
        """Resolve ``repo.revision`` to a commit and list every file with size and hashes."""
        ...

    def file_url(self, repo: RepoRef, commit: str, path: str) -> str:
        """A URL whose GET returns the file's bytes (it may redirect, e.g. to a CDN)."""
        ...
