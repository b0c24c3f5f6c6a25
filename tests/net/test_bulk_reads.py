"""kuaidi's clients read responses in bulk: one read returns up to bulk.READ_SIZE, not
httpcore's 64 KiB, so a fast download costs far fewer trips through the stack."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpcore
import pytest

from kuaidi.net import ProxyScope, make_client
from kuaidi.net.bulk import READ_SIZE, BulkStream

BODY = bytes(range(256)) * (16 * 1024)  # 4 MiB


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/blob"
    finally:
        server.shutdown()
        server.server_close()


class _Recorder(httpcore.NetworkStream):
    def __init__(self) -> None:
        self.asked: list[int] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.asked.append(max_bytes)
        return b""


def test_a_stream_asks_the_socket_for_bulk_reads() -> None:
    inner = _Recorder()
    BulkStream(inner).read(64 * 1024)
    BulkStream(inner).read(4 * READ_SIZE)
    assert inner.asked == [READ_SIZE, 4 * READ_SIZE]


def test_a_body_arrives_whole_through_the_bulk_streams(url: str) -> None:
    with make_client(ProxyScope.direct()) as client:
        for _ in range(3):  # keep-alive: the same connection, read to the body's end each time
            with client.stream("GET", url) as resp:
                pieces = list(resp.iter_raw())
            assert b"".join(pieces) == BODY
            assert max(len(p) for p in pieces) <= READ_SIZE
