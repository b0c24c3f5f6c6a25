"""Integrity, one implementation: size always, sha256 for LFS files, git blob sha1 for small ones.

The engine's running hash (:class:`kuaidi.transfer.verify.IncrementalHash`), its after-the-fact
check (:func:`check_file`), the cache's blob check (``store.inspect``) and the plain folder's
presence test all hash through :class:`Digest`; the store and the engine are siblings, so the
rule lives here in the shared base. Reading a local file is the only I/O.

>>> git_blob_sha1(b"Hello, World!")
'b45ef6fec89518d314f546fd6c3025367b721684'
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO

from kuaidi.model.repo import RemoteFile

BLOCK = 1 << 20


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of ``data`` (what HF lists as ``oid`` / ``ETag`` for small files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Digest:
    """The hashes one file is checked against, fed its bytes in order."""

    def __init__(self, size: int, *, sha256: str | None = None, git_sha1: str | None = None):
        self.want_sha256 = sha256
        self.want_sha1 = git_sha1
        self.h256 = hashlib.sha256() if sha256 else None
        self.h1 = hashlib.sha1(b"blob %d\0" % size) if git_sha1 else None

    @classmethod
    def of(cls, remote: RemoteFile) -> Digest:
        """What ``remote`` lists: sha256 for LFS files (or when no git id is known), else the
        git blob sha1."""
        sha256 = remote.sha256 if (remote.lfs or not remote.git_sha1) else None
        git_sha1 = remote.git_sha1 if not remote.lfs else None
        return cls(remote.size, sha256=sha256, git_sha1=git_sha1)

    @property
    def active(self) -> bool:
        return self.h256 is not None or self.h1 is not None

    def update(self, data: bytes | memoryview) -> None:
        if self.h256 is not None:
            self.h256.update(data)
        if self.h1 is not None:
            self.h1.update(data)

    def feed_file(self, f: IO[bytes]) -> Digest:
        """Hash the rest of ``f`` through one reused buffer."""
        readinto = getattr(f, "readinto", None)
        if readinto is None:  # a plain stream: fresh chunks
            while chunk := f.read(BLOCK):
                self.update(chunk)
            return self
        buf = bytearray(BLOCK)
        view = memoryview(buf)
        while n := readinto(buf):
            self.update(view[:n])
        return self

    def hexdigest(self) -> str:
        """The stronger of the running hashes."""
        h = self.h256 if self.h256 is not None else self.h1
        return h.hexdigest() if h is not None else ""

    def problem(self) -> str | None:
        """None when the hashed bytes match, else why not."""
        if self.h256 is not None and self.h256.hexdigest() != self.want_sha256:
            got, want = self.h256.hexdigest(), self.want_sha256 or ""
            return f"sha256 {got[:12]}… != expected {want[:12]}…"
        if self.h1 is not None and self.h1.hexdigest() != self.want_sha1:
            got, want = self.h1.hexdigest(), self.want_sha1 or ""
            return f"git sha1 {got[:12]}… != expected {want[:12]}…"
        return None


def hash_path(path: Path, digest: Digest) -> Digest:
    """Stream ``path`` through ``digest`` (unbuffered: the buffer is the digest's)."""
    if digest.active:
        with open(path, "rb", buffering=0) as f:
            digest.feed_file(f)
    return digest


def sha256_file(path: Path) -> str:
    """The sha256 of ``path``."""
    with open(path, "rb", buffering=0) as f:
        return sha256_stream(f)


def sha256_stream(f: IO[bytes]) -> str:
    """The sha256 of the rest of ``f``."""
    d = Digest(0, sha256="-")
    d.feed_file(f)
    return d.hexdigest()


def check_file(path: Path, remote: RemoteFile) -> str | None:
    """Hash ``path`` once, streaming; return None when it matches ``remote``, else why not."""
    size = path.stat().st_size
    if size != remote.size:
        return f"size {size} != expected {remote.size}"
    return hash_path(path, Digest.of(remote)).problem()
