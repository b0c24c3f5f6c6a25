"""Bounds on what a listing may cost, and a compact store for its entries while they arrive.

A listing is the one thing a server sends that kuaidi holds in memory whole. A hostile or broken
one — a body that streams JSON forever, a cursor that serves fresh pages forever — must end in
one line (:class:`~kuaidi.errors.UnsafeListing`), not in the OOM killer. The bounds are generous
for real repos (the largest public datasets have ~1e6 files; a Hub tree page is ~150 KB):

- ``MAX_FILES`` entries per listing (``KUAIDI_MAX_LISTING_FILES`` raises it);
- ``MAX_PAGE_BYTES`` per response body, read as a stream and cut off there;
- sizes are integers in ``0 … 2**63-1`` (what a file offset can be).

While pages arrive, entries are packed into one ``bytearray`` (~60 B each instead of ~600 B as
Python objects), so reaching the cap costs ~120 MB, not gigabytes; :class:`RemoteFile` objects
are made once, when the listing is complete.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from kuaidi.errors import UnsafeListing
from kuaidi.model import RemoteFile

MAX_FILES = 2_000_000
MAX_PAGE_BYTES = 32 * 2**20
MAX_SIZE = 2**63 - 1
_HEAD = struct.Struct("<BQH")  # flags, size, path length
_LFS, _SHA256, _SHA1, _BLOB, _LFS_SIZE, _XET = 1, 2, 4, 8, 16, 32
_CHUNK = 2**20
_FIX = "the endpoint is broken or hostile; try another --endpoint"


def max_files(environ: Mapping[str, str] | None = None) -> int:
    """The entry cap: ``KUAIDI_MAX_LISTING_FILES`` when set to a positive integer."""
    value = (os.environ if environ is None else environ).get("KUAIDI_MAX_LISTING_FILES", "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else MAX_FILES


def valid_size(value: Any, path: str, who: str) -> int:
    """``value`` when it is a file size (an int in 0 … 2**63-1, not a bool); else UnsafeListing."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SIZE:
        shown = repr(value) if len(repr(value)) < 40 else repr(value)[:37] + "..."
        raise UnsafeListing(
            f"{who} listed {path!r} with an invalid size {shown}",
            fix=_FIX,
        )
    return value


def get_capped(
    client: httpx.Client,
    url: str,
    headers: Mapping[str, str],
    *,
    who: str,
    cap: int = MAX_PAGE_BYTES,
) -> httpx.Response:
    """GET ``url`` reading at most ``cap`` bytes of body; a longer body is UnsafeListing.

    The body is read as a stream, so an endless one costs ``cap`` bytes, not all the RAM. The
    returned response is complete (``.json()``, ``.links``, ``.text`` work as usual).
    """
    with client.stream("GET", url, headers=headers) as resp:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _too_big(who, cap)
        body = bytearray()
        for chunk in resp.iter_bytes():  # decoded (gzip) bytes: the cap is what we would hold
            body += chunk
            if len(body) > cap:
                raise _too_big(who, cap)
    drop = ("content-encoding", "content-length", "transfer-encoding")  # body is decoded now
    kept = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in drop]
    return httpx.Response(resp.status_code, headers=kept, content=bytes(body), request=resp.request)


def _too_big(who: str, cap: int) -> UnsafeListing:
    return UnsafeListing(
        f"{who} sent a listing page larger than {cap // 2**20} MiB; refusing it",
        fix=_FIX,
    )


class PackedEntries:
    """Listing entries packed into bytes as they arrive; :meth:`files` makes the objects.

    Raises :class:`~kuaidi.errors.UnsafeListing` on the entry past ``cap``. A path listed twice
    keeps its first entry (as a dict keyed by path would keep one).
    """

    def __init__(self, who: str, cap: int | None = None) -> None:
        self.who = who
        self.cap = max_files() if cap is None else cap
        self.count = 0
        # 1 MiB chunks, not one growing bytearray: growing one copies it (2x the peak)
        self._chunks: list[bytearray] = [bytearray()]

    def add(
        self,
        path: str,
        size: int,
        *,
        sha256: str | None = None,
        git_sha1: str | None = None,
        lfs: bool = False,
        blob_id: str | None = None,
        lfs_size: int | None = None,
        xet_hash: str | None = None,
    ) -> None:
        """One entry; hashes are hex strings already checked by the caller (64 / 40 digits)."""
        if self.count >= self.cap:
            raise UnsafeListing(
                f"{self.who} lists more than {self.cap:,} files; refusing a listing that may "
                "never end",
                fix="if the repo really is that large, set KUAIDI_MAX_LISTING_FILES higher; "
                "otherwise the endpoint is broken or hostile — try another --endpoint",
            )
        raw = path.encode("utf-8", "surrogatepass")
        flags = (
            (_LFS if lfs else 0)
            | (_SHA256 if sha256 else 0)
            | (_SHA1 if git_sha1 else 0)
            | (_BLOB if blob_id else 0)
            | (_LFS_SIZE if lfs_size is not None else 0)
            | (_XET if xet_hash else 0)
        )
        buf = self._chunks[-1]
        if len(buf) > _CHUNK:
            buf = bytearray()
            self._chunks.append(buf)
        buf += _HEAD.pack(flags, size, len(raw))
        buf += raw
        for flag, value in ((_SHA256, sha256), (_SHA1, git_sha1), (_BLOB, blob_id)):
            if flags & flag and value:  # (the flag is set exactly when value is)
                buf += bytes.fromhex(value)
        if flags & _LFS_SIZE:
            buf += struct.pack("<Q", lfs_size)
        if flags & _XET and xet_hash:
            buf += bytes.fromhex(xet_hash)
        self.count += 1

    def _records(self) -> Iterator[tuple[int, int, str, dict[int, Any]]]:
        for chunk in self._chunks:
            yield from self._chunk_records(memoryview(chunk))

    @staticmethod
    def _chunk_records(buf: memoryview) -> Iterator[tuple[int, int, str, dict[int, Any]]]:
        pos, head = 0, _HEAD.size
        while pos < len(buf):
            flags, size, n = _HEAD.unpack_from(buf, pos)
            pos += head
            path = bytes(buf[pos : pos + n]).decode("utf-8", "surrogatepass")
            pos += n
            extra: dict[int, Any] = {}
            for flag, width in ((_SHA256, 32), (_SHA1, 20), (_BLOB, 20)):
                if flags & flag:
                    extra[flag] = bytes(buf[pos : pos + width]).hex()
                    pos += width
            if flags & _LFS_SIZE:
                extra[_LFS_SIZE] = struct.unpack_from("<Q", buf, pos)[0]
                pos += 8
            if flags & _XET:
                extra[_XET] = bytes(buf[pos : pos + 32]).hex()
                pos += 32
            yield flags, size, path, extra

    def files(self) -> list[RemoteFile]:
        """Every entry as a :class:`RemoteFile`, first occurrence of each path, listing order."""
        seen: set[str] = set()
        out: list[RemoteFile] = []
        for flags, size, path, extra in self._records():
            if path in seen:
                continue
            seen.add(path)
            out.append(
                RemoteFile(
                    path=path,
                    size=size,
                    sha256=extra.get(_SHA256),
                    git_sha1=extra.get(_SHA1),
                    lfs=bool(flags & _LFS),
                )
            )
        return out

    def tree(self) -> dict[str, dict[str, Any]]:
        """The raw entries huggingface_hub caches as ``trees/<commit>.json`` (first per path)."""
        out: dict[str, dict[str, Any]] = {}
        for _flags, size, path, extra in self._records():
            if path in out:
                continue
            raw: dict[str, Any] = {"size": size, "blob_id": extra.get(_BLOB)}
            if _SHA256 in extra and _LFS_SIZE in extra:
                raw.update(lfs_sha256=extra[_SHA256], lfs_size=extra[_LFS_SIZE])
            if _XET in extra:
                raw["xet_hash"] = extra[_XET]
            out[path] = raw
        return out
