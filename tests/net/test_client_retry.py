"""A kept-alive connection the peer drops without answering: GET is sent again, POST is not."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from kuaidi.net import ProxyScope, make_client

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


class DropsSecondRequest:
    """Connection 1 answers one request, then reads the next and closes silently; every later
    connection answers normally. Deterministic stand-in for a proxy's idle-connection close."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            while True:
                conn, _ = self.sock.accept()
                self.connections += 1
                with conn:
                    conn.settimeout(10)
                    conn.recv(65536)
                    conn.sendall(OK)
                    if self.connections == 1:
                        conn.recv(65536)  # the reused request: no answer, just close
        except OSError:
            return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server() -> Iterator[DropsSecondRequest]:
    srv = DropsSecondRequest()
    yield srv
    srv.close()


def test_get_is_retried_once_on_a_dropped_keepalive(server: DropsSecondRequest) -> None:
    url = f"http://127.0.0.1:{server.port}/x"
    with make_client(ProxyScope.direct(), timeout=10) as client:
        assert client.get(url).text == "ok"
        assert client.get(url).text == "ok"  # first try dies on the reused socket
    assert server.connections == 2


def test_post_is_not_resent(server: DropsSecondRequest) -> None:
    url = f"http://127.0.0.1:{server.port}/x"
    with make_client(ProxyScope.direct(), timeout=10) as client:
        assert client.get(url).text == "ok"
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(url, content=b"data")
    assert server.connections == 1
