"""TLS: kuaidi trusts certifi plus the CA bundles the user's clients are told to use
(SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) and those a turbo file exports."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kuaidi.errors import KuaidiError
from kuaidi.net.client import make_client
from kuaidi.net.scope import ProxyScope

trustme = pytest.importorskip("trustme")


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello over tls"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An https server on loopback signed by a throwaway CA; yields (url, ca.pem)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_pem = tmp_path / "lab-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/", ca_pem
    finally:
        server.shutdown()
        server.server_close()


def _get(url: str, environ: dict[str, str], turbo: Path | None = None) -> httpx.Response:
    scope = ProxyScope.from_env(environ, turbo_path=turbo)
    with make_client(scope) as client:
        return client.get(url)


def test_an_unknown_ca_is_refused(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    with pytest.raises(httpx.ConnectError):
        _get(url, {})


@pytest.mark.parametrize("var", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_the_users_ca_bundle_is_trusted(tls_server: tuple[str, Path], var: str) -> None:
    """Regression: kuaidi verified with certifi only, so behind a lab proxy that inspects TLS
    every download failed while pip and curl, told about the lab's CA, worked."""
    url, ca = tls_server
    assert _get(url, {var: str(ca)}).text == "hello over tls"


def test_the_turbo_files_ca_bundle_is_trusted(tls_server: tuple[str, Path], tmp_path: Path) -> None:
    url, ca = tls_server
    turbo = tmp_path / "network_turbo"
    turbo.write_text(
        "export http_proxy=http://10.0.0.1:12798 && export https_proxy=http://10.0.0.1:12798\n"
        f"export REQUESTS_CA_BUNDLE={ca}\n"
    )
    assert _get(url, {}, turbo=turbo).text == "hello over tls"  # loopback: direct, same trust


def test_a_ca_file_that_is_not_pem_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("hello\n")
    with pytest.raises(KuaidiError, match="not a CA bundle") as info:
        make_client(ProxyScope.from_env({"SSL_CERT_FILE": str(bad)}, turbo_path=None))
    assert "SSL_CERT_FILE" in (info.value.fix or "")
