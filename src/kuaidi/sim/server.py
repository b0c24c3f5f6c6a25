"""The sim's HTTP core: one threaded server per simulated host, protocol apps plugged on top.

Layers stay separate so the same core can later serve a LAN mirror:

* **protocol** — an ``App``: a plain function ``Request -> Response`` (``kuaidi.sim.hf``,
  ``kuaidi.sim.modelscope``, ``kuaidi.sim.pypi``, ``kuaidi.sim.cdn``);
* **content** — files on disk the app points at with :class:`FileBody` (``kuaidi.sim.content``);
* **faults** — applied here, around the app, per host (``kuaidi.sim.faults``).

A minimal app::

    def app(req: Request) -> Response:
        if req.path == "/hello":
            return json_response({"hello": req.query.get("name", ["world"])[0]})
        return Response(404)

    host = Host("demo", app=app); host.start(); print(host.base_url); host.stop()
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
import traceback
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from kuaidi.errors import KuaidiError
from kuaidi.sim.faults import BODY_KINDS, PRE_KINDS, FaultRule, Faults, TokenBucket
from kuaidi.sim.log import LogEntry, RequestLog, redact_headers
from kuaidi.sim.messages import (
    App,
    FileBody,
    Request,
    Response,
    expired_response,
    json_response,
    serve_file,
    text_response,
)
from kuaidi.sim.wire import BodyAbort, BodySender, set_rst_on_close

if TYPE_CHECKING:
    from kuaidi.sim import Sim

__all__ = [
    "App",
    "FileBody",
    "Host",
    "Request",
    "Response",
    "expired_response",
    "json_response",
    "serve_file",
    "text_response",
]

LOOPBACK = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], host: Host) -> None:
        self.host = host
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, host.handler_class)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        host = self.host
        if host.allowed_peers is None or client_address[0] in host.allowed_peers:
            return True
        # The wall: accept, then RST. Closing here (no makefile refs yet) really sends the RST;
        # socketserver's later shutdown() on the closed socket fails quietly.
        host.log.add(
            LogEntry(
                host.name,
                "-",
                "",
                {},
                [],
                0,
                0,
                None,
                client_address,
                time.time(),
                0.0,
                outcome="refused",
            )
        )
        set_rst_on_close(request)
        request.close()
        return False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            self.connections.add(request)
            self.host.connections_accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-response are normal here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kuaidi-sim"
    timeout = 120  # idle keep-alive connections
    # TCP_NODELAY, as real web servers and CDNs set it: headers and body go out in separate
    # writes, and with Nagle on, the body of every request after the first on a kept-alive
    # connection waited for the client's delayed ACK — 40 ms per request that no real hub adds.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET

    def finish(self) -> None:
        super().finish()
        if getattr(self, "_rst", False):
            self.connection.close()  # last reference: SO_LINGER 0 makes this an RST

    def _dispatch(self) -> None:
        host = self.server.host
        host.log.begin()
        entry = None
        try:
            entry = self._answer(host)
        finally:
            host.log.end(entry)

    def _answer(self, host: Host) -> LogEntry:
        started = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=unquote(split.path),
            raw_path=self.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            host=host,
            client=self.client_address,
        )
        range_header = self.headers.get("Range")
        fired: list[FaultRule] = []
        resp = None
        pre = host.faults.decide(PRE_KINDS, req.method, req.path, range_header)
        fired += pre
        delay = host.latency + sum(r.seconds or 0.0 for r in pre if r.kind == "latency")
        if delay > 0:
            host.stopping.wait(delay)
        for rule in pre:
            if rule.kind == "status" and resp is None:
                resp = _status_response(rule)
            elif rule.kind == "expire" and resp is None:
                resp = expired_response()
            elif rule.kind == "ignore_range":
                req.range_mode = rule.mode
        if resp is None:
            try:
                resp = host.app(req)
            except KuaidiError as exc:
                resp = text_response(exc.one_line() + "\n", 500)
            except Exception:
                resp = text_response(traceback.format_exc(), 500)
        try:
            sent, outcome = self._write(host, req, resp, range_header, fired)
        except OSError:  # the client hung up while we wrote the headers
            self.close_connection = True
            sent, outcome = 0, "aborted"
        return LogEntry(
            host=host.name,
            method=req.method,
            path=req.path,
            query=req.query,
            headers=redact_headers(list(self.headers.items())),
            status=resp.status,
            bytes_sent=sent,
            range=range_header,
            client=self.client_address,
            started=started,
            duration=time.time() - started,
            faults=tuple(r.kind for r in fired),
            outcome=outcome,
        )

    def _write(
        self,
        host: Host,
        req: Request,
        resp: Response,
        range_header: str | None,
        fired: list[FaultRule],
    ) -> tuple[int, str]:
        body = resp.body
        size = 0 if body is None else len(body) if isinstance(body, bytes) else body.length
        chunked = (resp.header("Transfer-Encoding") or "").lower() == "chunked"
        self.send_response(resp.status)
        for key, value in resp.headers:
            self.send_header(key, value)
        if resp.header("Content-Length") is None and not chunked:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if req.method == "HEAD" or (not size and not chunked):
            return 0, "ok"

        base = body.offset if isinstance(body, FileBody) else 0
        end = [size]  # nothing acts at or after the byte where a reset/truncate ends the body

        def position(rule: FaultRule) -> int:
            return rule.offset - base if rule.kind == "corrupt" else rule.after

        def eligible(rule: FaultRule) -> bool:
            return 0 <= position(rule) < end[0]

        def on_fire(rule: FaultRule) -> None:
            # an open-ended stall usually ends with the client hanging up
            if rule.kind in ("reset", "truncate") or (
                rule.kind == "stall" and rule.seconds is None
            ):
                end[0] = min(end[0], rule.after)

        cuts = host.faults.decide(
            BODY_KINDS,
            req.method,
            req.path,
            range_header,
            eligible,
            order=position,
            on_fire=on_fire,
        )
        fired += cuts
        buckets = [b for b in (host.new_conn_bucket(), host.total_bucket) if b is not None]
        sender = BodySender(
            self.connection,
            buckets=buckets,
            cuts=cuts,
            stop=host.stopping,
            on_idle=host.log.idle,
            chunked=chunked,
        )
        try:
            # body is None only with size 0 and no chunking, which returned above
            return sender.send(body), "ok"  # type: ignore[arg-type]
        except BodyAbort as abort:
            self.close_connection = True
            if abort.outcome == "reset":
                self._rst = True
            return abort.sent, abort.outcome


def _status_response(rule: FaultRule) -> Response:
    headers = [("X-Error-Message", f"kuaidi-sim fault: HTTP {rule.status}")]
    if rule.retry_after is not None:
        headers.append(("Retry-After", str(rule.retry_after)))
    if rule.status == 429:
        headers.append(("RateLimit", f'"api";r=0;t={rule.retry_after or 1}'))
    return text_response(f"simulated HTTP {rule.status}\n", rule.status, headers)


class Host:
    """One simulated host: a name, a loopback server, an app, its faults and its log.

    ``conn_rate``/``total_rate`` are bytes per second per connection / across all connections;
    ``latency`` is waited before each response (≈ one RTT); ``allowed_peers`` (if set) is the
    wall: connections from other source addresses are accepted and reset.
    """

    def __init__(
        self,
        name: str,
        *,
        app: App | None = None,
        protocol: str = "",
        options: dict[str, Any] | None = None,
        faults: Faults | None = None,
        conn_rate: float | None = None,
        total_rate: float | None = None,
        latency: float = 0.0,
        allowed_peers: Iterable[str] | None = None,
        sim: Sim | None = None,
    ) -> None:
        self.name = name
        self.app: App = app or (lambda req: Response(404))
        self.protocol = protocol
        self.options: dict[str, Any] = dict(options or {})
        self.faults = faults or Faults(host=name)
        self.conn_rate = conn_rate
        self.total_bucket = TokenBucket(total_rate) if total_rate else None
        self.latency = latency
        self.allowed_peers = frozenset(allowed_peers) if allowed_peers is not None else None
        self.sim = sim
        self.log = RequestLog(name)
        # TCP connections accepted past the wall, over the host's life: what a client's
        # connection reuse is measured by (a TLS handshake each on the real Internet).
        self.connections_accepted = 0
        # A protocol may speak more than plain HTTP (kuaidi.sim.github: CONNECT + TLS).
        self.handler_class: type[BaseHTTPRequestHandler] = _Handler
        self.tls: Any = None  # kuaidi.sim.github sets its _TLS here (CA file + server context)
        self.stopping = threading.Event()
        self.port = 0
        self.bind = LOOPBACK
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        host = LOOPBACK if self.bind in ("", "0.0.0.0") else self.bind
        return f"http://{host}:{self.port}"

    @property
    def bytes_sent(self) -> int:
        """Body bytes this host has sent so far (per path: ``host.log.bytes_sent(glob)``)."""
        return self.log.bytes_sent()

    def bytes_sent_for(self, path_glob: str) -> int:
        """Body bytes sent for requests whose decoded path matches ``path_glob``."""
        return self.log.bytes_sent(path_glob)

    def new_conn_bucket(self) -> TokenBucket | None:
        return TokenBucket(self.conn_rate) if self.conn_rate else None

    def start(self, port: int = 0, *, bind: str = LOOPBACK) -> None:
        """Bind ``bind:port`` (0 = a free port) and serve in a daemon thread. The sim always
        binds loopback; ``bind`` exists for serving content on a LAN later."""
        self.bind = bind
        try:
            self._server = _Server((bind, port), self)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise KuaidiError(
                    f"port {port} is already in use (sim host {self.name!r})",
                    fix="pick another --port base, or stop whatever listens there",
                ) from exc
            raise
        self.port = self._server.server_address[1]
        self.stopping.clear()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sim-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, wake stalled responses, and close open connections."""
        self.stopping.set()
        server = self._server
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with server.conn_lock:
            conns = list(server.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
