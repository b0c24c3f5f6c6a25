"""A tiny raw-socket HTTP/1.1 client for asserting exactly what went over the wire
(how many body bytes before a stall/reset/close), which real clients hide."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class RawResult:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    ending: str = "eof"  # eof | timeout | reset | complete


def raw_get(
    url: str, headers: dict[str, str] | None = None, *, timeout: float = 2.0, method: str = "GET"
) -> RawResult:
    """Send one request (Connection: close) and read until EOF, timeout or reset."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    raw = b""
    result = RawResult()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            while chunk := sock.recv(65536):
                raw += chunk
        except TimeoutError:
            result.ending = "timeout"
        except ConnectionResetError:
            result.ending = "reset"
    head, _, body = raw.partition(b"\r\n\r\n")
    if head:
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        result.status = int(status_line.split()[1])
        for line in header_lines:
            key, _, value = line.partition(":")
            result.headers[key.strip().lower()] = value.strip()
    result.body = body
    length = result.headers.get("content-length")
    if result.ending == "eof" and length is not None and len(body) == int(length):
        result.ending = "complete"
    return result
