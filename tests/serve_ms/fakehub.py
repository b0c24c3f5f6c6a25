"""A Hub that holds its repos in memory, for testing a protocol front without the fill machinery.

``FakeHub.add(repo_id, {path: bytes}, lfs=...)`` makes a listing whose hashes are the bytes'
own; ``errors`` maps a repo id to the KuaidiError ``snapshot`` raises for it; ``fail_after``
maps a path to the byte count after which its reader raises (a fill that failed verification).
Every call is recorded (with whether a token came along, never the token itself).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from kuaidi.errors import KuaidiError, RepoNotFound, RevisionNotFound, VerificationFailed
from kuaidi.model.digest import git_blob_sha1
from kuaidi.model.repo import Listing, RemoteFile, RepoRef, RepoType

CHUNK = 64 * 1024


@dataclass
class FakeReader:
    data: bytes
    fail_after: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        stop = len(self.data) if end is None else end
        pos = start
        while pos < stop:
            if self.fail_after is not None and pos >= self.fail_after:
                raise VerificationFailed("fill failed verification")
            step = min(CHUNK, stop - pos)
            if self.fail_after is not None:
                step = min(step, max(1, self.fail_after - pos))
            yield self.data[pos : pos + step]
            pos += step


@dataclass
class FakeHub:
    listings: dict[tuple[RepoType, str, str], Listing] = field(default_factory=dict)
    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)
    errors: dict[str, KuaidiError] = field(default_factory=dict)
    fail_after: dict[str, int] = field(default_factory=dict)
    tokens: list[str | None] = field(default_factory=list)  # what each call carried
    asked: list[RepoRef] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)

    def add(
        self,
        repo_id: str,
        files: dict[str, bytes],
        *,
        repo_type: RepoType = "model",
        revision: str = "main",
        lfs: tuple[str, ...] = (),
    ) -> Listing:
        commit = hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()
        listed = []
        for path, data in files.items():
            if path in lfs:
                sha = hashlib.sha256(data).hexdigest()
                listed.append(RemoteFile(path, len(data), sha256=sha, lfs=True))
            else:
                listed.append(RemoteFile(path, len(data), git_sha1=git_blob_sha1(data)))
            self.blobs[(repo_id, path)] = data
        listing = Listing(RepoRef(repo_id, repo_type, revision), commit, listed, source="fake")
        self.listings[(repo_type, repo_id, revision)] = listing
        return listing

    async def snapshot(self, repo: RepoRef, token: str | None) -> Listing:
        self.asked.append(repo)
        self.tokens.append(token)
        if repo.repo_id in self.errors:
            raise self.errors[repo.repo_id]
        found = self.listings.get((repo.repo_type, repo.repo_id, repo.revision))
        if found is not None:
            return found
        if any(k[:2] == (repo.repo_type, repo.repo_id) for k in self.listings):
            raise RevisionNotFound(f"revision {repo.revision!r} not found in {repo.repo_id}")
        raise RepoNotFound(f"{repo.repo_type} {repo.repo_id} not found")

    async def open(self, listing: Listing, path: str, token: str | None) -> FakeReader:
        self.tokens.append(token)
        self.opened.append(path)
        data = self.blobs[(listing.repo.repo_id, path)]
        return FakeReader(data, self.fail_after.get(path))
