"""Bigger socket reads for httpx: a network backend whose streams read up to :data:`READ_SIZE`.

httpcore reads a response 64 KiB at a time. On a fast link every read is a trip through
httpcore, h11 and the engine's loop, and two GIL hand-offs (poll, recv) among 16 busy worker
threads: on loopback that per-read overhead, not the bytes, was most of kuaidi's CPU (measured
in issue 13: 2 GiB over 16 connections took ~33,000 reads and ~800,000 futex calls). One read
returns what the socket already holds, up to ``READ_SIZE``, so a slow link still gets small
reads at once. h11 accepts any amount of data per ``receive_data``. Plain TCP only: a TLS
read ends at a record (16 KiB) whatever is asked, so TLS streams keep httpcore's reads.

The backend is swapped into the pool httpx builds (``install``): httpx has no parameter for
it, and copying its transport to pass one would mean copying its request and error mapping.
When a future httpx hides the pool differently, ``install`` leaves the transport as it is.
"""

from __future__ import annotations

import ssl
import typing

import httpcore

# Larger reads cut CPU further but each connection then holds a few buffers this big at once
# (h11's receive buffer, its slice, the bytes handed up): 16 connections x 512 KiB kept peak
# RSS near 100 MB on a 2 GiB run, 1 MiB pushed it past 150 MB.
READ_SIZE = 512 * 1024


class BulkStream(httpcore.NetworkStream):
    """A stream that reads up to :data:`READ_SIZE` whatever httpcore asks for."""

    def __init__(self, inner: httpcore.NetworkStream, size: int = READ_SIZE) -> None:
        self._inner = inner
        self._size = size

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max(max_bytes, self._size), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # TLS reads stay httpcore's: OpenSSL returns one record (16 KiB) per read, so a bigger
        # request would only allocate (and give back) a big buffer per record.
        return self._inner.start_tls(ssl_context, server_hostname, timeout)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class BulkBackend(httpcore.NetworkBackend):
    """Wraps a backend (default: httpcore's own) so its streams read in bulk."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None, size: int = READ_SIZE):
        self._inner = inner if inner is not None else httpcore.SyncBackend()
        self._size = size

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return BulkStream(stream, self._size)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, timeout, socket_options)
        return BulkStream(stream, self._size)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(transport: object, size: int = READ_SIZE) -> bool:
    """Make ``transport`` (an ``httpx.HTTPTransport``) read in bulk; False when it cannot."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):
        return False
    if not isinstance(backend, BulkBackend):
        pool._network_backend = BulkBackend(backend, size)  # type: ignore[union-attr]
    return True
