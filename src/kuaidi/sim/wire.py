"""Putting a response body on the socket, with throttling and mid-body faults applied.

The unthrottled, fault-free path is plain ``socket.sendfile`` in large pieces (no per-chunk
Python work). Only when a host has a bandwidth cap or a body fault fired do we cut the body into
chunks, and then only at the byte offsets where something has to happen.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kuaidi.sim.faults import FaultRule, TokenBucket

FAST_PIECE = 64 * 1024 * 1024  # sendfile piece when unthrottled; also bounds log accuracy


@dataclass
class FileBody:
    """``length`` bytes of ``path`` from ``offset``, sent with ``socket.sendfile``."""

    path: Path
    offset: int
    length: int


class BodyAbort(Exception):
    """The body was cut short on purpose (``outcome``) or because the client went away."""

    def __init__(self, outcome: str, sent: int) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.sent = sent


def set_rst_on_close(sock: socket.socket) -> None:
    """Make the next close send RST instead of FIN (SO_LINGER on, timeout 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _client_gone(sock: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _stall(sock: socket.socket, seconds: float | None, stop: threading.Event, sent: int) -> None:
    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        if stop.is_set() or _client_gone(sock):
            raise BodyAbort("stalled-abandoned", sent)
        stop.wait(0.02)


def _noop(idle: bool) -> None:
    pass


class BodySender:
    """Sends one body; ``send`` returns the bytes sent or raises :class:`BodyAbort`."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        buckets: list[TokenBucket],
        cuts: list[FaultRule],
        stop: threading.Event,
        on_idle: Callable[[bool], None] = _noop,
        chunked: bool = False,
    ) -> None:
        # Transfer-Encoding: chunked framing around every piece; the last-chunk marker only
        # when the body ends (or a ``truncate(clean=True)`` ends it early on purpose).
        self.chunked = chunked
        self.on_idle = on_idle  # told while a stall holds the body (the log need not wait)
        self.sock = sock
        self.buckets = buckets
        self.cuts = cuts
        self.stop = stop
        self.sent = 0

    def send(self, body: bytes | FileBody) -> int:
        total = len(body) if isinstance(body, bytes) else body.length
        base = 0 if isinstance(body, bytes) else body.offset
        # Events at body offsets, in order: (offset, order, rule).
        events: list[tuple[int, int, FaultRule]] = []
        for rule in self.cuts:
            if rule.kind == "corrupt":
                if base <= rule.offset < base + total:
                    events.append((rule.offset - base, 0, rule))
            elif rule.after < total:
                events.append((rule.after, 1, rule))
        events.sort(key=lambda e: (e[0], e[1]))
        handle = open(body.path, "rb") if isinstance(body, FileBody) else None  # noqa: SIM115
        try:
            pos = 0
            for at, _, rule in events:
                if at < pos:  # a byte a corrupt rule already sent: act right after it
                    if rule.kind == "corrupt":
                        continue
                    at = pos
                self._send_range(body, handle, pos, at)
                pos = at
                if rule.kind == "corrupt":
                    byte = self._read(body, handle, pos, 1)
                    self._send_bytes(bytes([byte[0] ^ 0xFF]))
                    pos += 1
                elif rule.kind == "stall":
                    self.on_idle(True)
                    try:
                        _stall(self.sock, rule.seconds, self.stop, self.sent)
                    finally:
                        self.on_idle(False)
                elif rule.kind == "reset":
                    set_rst_on_close(self.sock)
                    raise BodyAbort("reset", self.sent)
                elif rule.kind == "truncate":
                    if self.chunked and rule.mode == "clean":
                        self.sock.sendall(b"0\r\n\r\n")
                        return self.sent
                    raise BodyAbort("truncated", self.sent)
            self._send_range(body, handle, pos, total)
            if self.chunked:
                self.sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError) as exc:
            raise BodyAbort("aborted", self.sent) from exc
        finally:
            if handle is not None:
                handle.close()
        return self.sent

    @staticmethod
    def _read(body: bytes | FileBody, handle: BinaryIO | None, pos: int, n: int) -> bytes:
        if isinstance(body, bytes):
            return body[pos : pos + n]
        assert handle is not None  # send() opens one for every FileBody
        handle.seek(body.offset + pos)
        return handle.read(n)

    def _send_bytes(self, data: bytes | memoryview) -> None:
        for bucket in self.buckets:
            bucket.take(len(data))
        if self.chunked:
            self.sock.sendall(b"%x\r\n" % len(data) + bytes(data) + b"\r\n")
        else:
            self.sock.sendall(data)
        self.sent += len(data)

    def _send_range(
        self, body: bytes | FileBody, handle: BinaryIO | None, start: int, end: int
    ) -> None:
        if end <= start:
            return
        if isinstance(body, bytes):
            view = memoryview(body)
            step = self._chunk() if self.buckets else end - start
            for pos in range(start, end, step):
                self._send_bytes(view[pos : min(end, pos + step)])
            return
        step = self._chunk() if self.buckets or self.chunked else FAST_PIECE
        pos = start
        while pos < end:
            count = min(step, end - pos)
            if self.chunked:  # a chunk needs its exact size up front: read, then frame it
                self._send_bytes(self._read(body, handle, pos, count))
                pos += count
                continue
            for bucket in self.buckets:
                bucket.take(count)
            assert handle is not None  # send() opens one for every FileBody
            n = self.sock.sendfile(handle, offset=body.offset + pos, count=count)
            if n == 0:
                raise BodyAbort("aborted", self.sent)
            self.sent += n
            pos += n

    def _chunk(self) -> int:
        if not self.buckets:
            return 256 * 1024
        slowest = min(b.rate for b in self.buckets)
        return int(min(256 * 1024, max(16 * 1024, slowest / 16)))
