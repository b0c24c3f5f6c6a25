"""The resume journal: which byte ranges of a partial file are known to be on disk.

Format (append-only, little endian)::

    header  b"KDJ1" | size u64 | crc32(previous 12 bytes) u32          (16 bytes)
    record  b"KDR1" | start u64 | end u64 | crc32(previous 20 bytes) u32 (24 bytes)

A record is appended only after the bytes it covers were fdatasync'ed in the partial file, so a
crash can lose progress but never claim bytes that are missing. Loading stops at the first record
that is short or fails its checksum (a torn write), which makes a torn tail harmless.

For example::

    j = Journal.open(Path("/tmp/x.kuaidi-journal"), size=100)
    j.append(0, 50); Journal.load(j.path, 100)
    # [(0, 50)]
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from pathlib import Path

_HEADER = struct.Struct("<4sQ")
_RECORD = struct.Struct("<4sQQ")
_CRC = struct.Struct("<I")
HEADER_SIZE = _HEADER.size + _CRC.size
RECORD_SIZE = _RECORD.size + _CRC.size


def _pack(st: struct.Struct, *values: object) -> bytes:
    body = st.pack(*values)
    return body + _CRC.pack(zlib.crc32(body))


def merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping or touching ``[start, end)`` ranges."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def gaps(done: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of ``[0, size)`` not covered by ``done``."""
    out, pos = [], 0
    for start, end in merge(done):
        if start > pos:
            out.append((pos, min(start, size)))
        pos = max(pos, end)
    if pos < size:
        out.append((pos, size))
    return [g for g in out if g[1] > g[0]]


class Journal:
    """An open journal for one partial file; ``append`` is thread-safe."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self.size = size
        self._fd = fd
        self._lock = threading.Lock()

    @staticmethod
    def load(path: Path, size: int) -> list[tuple[int, int]]:
        """Completed ranges recorded in ``path`` (merged); [] when absent, foreign or torn."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        if len(data) < HEADER_SIZE or not _valid(data[:HEADER_SIZE]):
            return []
        magic, jsize = _HEADER.unpack(data[: _HEADER.size])
        if magic != b"KDJ1" or jsize != size:
            return []
        ranges = []
        for off in range(HEADER_SIZE, len(data) - RECORD_SIZE + 1, RECORD_SIZE):
            rec = data[off : off + RECORD_SIZE]
            if not _valid(rec):
                break  # torn or garbage tail: everything after it is ignored
            magic, start, end = _RECORD.unpack(rec[: _RECORD.size])
            if magic != b"KDR1" or not 0 <= start < end <= size:
                break
            ranges.append((start, end))
        return merge(ranges)

    @classmethod
    def open(cls, path: Path, size: int, *, fresh: bool = False) -> Journal:
        """Open for appending; start a new journal when ``fresh`` or the old one is unusable."""
        existing = [] if fresh else cls.load(path, size)
        new = fresh or not _header_matches(path, size)
        # No fsync for a new journal: until a record is made durable (each flush fdatasyncs the
        # partial file first), a lost or torn journal only means "nothing kept", which is true.
        # Many small files open one each: an fsync here would cost a disk round trip per file.
        if new:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, _pack(_HEADER, b"KDJ1", size))
            os.close(fd)
        fd = os.open(path, os.O_RDWR)
        journal = cls(path, fd, size)
        os.lseek(fd, HEADER_SIZE, os.SEEK_SET)
        if not new:
            # Rewrite the surviving records compactly: this also drops a torn tail for good.
            os.ftruncate(fd, HEADER_SIZE)
            for start, end in existing:
                journal._write(start, end)
            os.fsync(fd)
        return journal

    def _write(self, start: int, end: int) -> None:
        os.write(self._fd, _pack(_RECORD, b"KDR1", start, end))

    def append(self, start: int, end: int) -> None:
        """Record ``[start, end)`` as on disk. Call only after fdatasync of the partial file."""
        self.extend([(start, end)])

    def extend(self, ranges: list[tuple[int, int]]) -> None:
        """Record several ranges in one write (same rule as :meth:`append`); a torn write
        loses the records from the torn one on, never claims more."""
        data = b"".join(_pack(_RECORD, b"KDR1", a, b) for a, b in ranges if b > a)
        if data:
            with self._lock:
                os.write(self._fd, data)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _header_matches(path: Path, size: int) -> bool:
    """The journal at ``path`` has an intact header for a file of ``size`` bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER_SIZE)
    except FileNotFoundError:
        return False
    if len(head) != HEADER_SIZE or not _valid(head):
        return False
    magic, jsize = _HEADER.unpack(head[: _HEADER.size])
    return magic == b"KDJ1" and jsize == size


def _valid(chunk: bytes) -> bool:
    body, crc = chunk[:-4], chunk[-4:]
    return _CRC.unpack(crc)[0] == zlib.crc32(body)
