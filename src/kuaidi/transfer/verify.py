"""Integrity: size always, sha256 for LFS files, git blob sha1 for small files.

>>> git_blob_sha1(b"Hello, World!")
'b45ef6fec89518d314f546fd6c3025367b721684'
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from kuaidi.sources.base import RemoteFile

_BLOCK = 1 << 20


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of ``data`` (what HF lists as ``oid`` / ``ETag`` for small files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_file(path: Path, remote: RemoteFile) -> str | None:
    """Hash ``path`` once, streaming; return None when it matches ``remote``, else why not."""
    size = path.stat().st_size
    if size != remote.size:
        return f"size {size} != expected {remote.size}"
    want_sha256 = remote.sha256 if (remote.lfs or not remote.git_sha1) else None
    want_sha1 = remote.git_sha1 if not remote.lfs else None
    if not want_sha256 and not want_sha1:
        return None  # nothing to check beyond size (a listing without hashes)
    h256 = hashlib.sha256() if want_sha256 else None
    h1 = hashlib.sha1(b"blob %d\0" % size) if want_sha1 else None
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(_BLOCK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            if h256 is not None:
                h256.update(view[:n])
            if h1 is not None:
                h1.update(view[:n])
    if h256 is not None and h256.hexdigest() != want_sha256:
        return f"sha256 {h256.hexdigest()[:12]}… != expected {want_sha256[:12]}…"
    if h1 is not None and want_sha1 and h1.hexdigest() != want_sha1:
        return f"git sha1 {h1.hexdigest()[:12]}… != expected {want_sha1[:12]}…"
    return None
