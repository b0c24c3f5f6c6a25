"""A test-only hub that is hostile by construction: listings that never end or never stop growing.

Pure hostility, not a network fault, so it lives here rather than in ``kuaidi.sim``. It speaks
just enough of the HF API (``/revision``, ``/tree``) and ModelScope's (``/revisions``,
``/repo/files``, ``/repo/tree``) for ``kuaidi get`` to list a repo; entries are generated on the
fly, so the server itself stays small however much it sends.

Modes (``HostileHub(mode)``):

- ``huge``: a legitimate ``entries``-file listing, paged by ``page`` with ``Link: next``;
- ``stream``: one tree page whose JSON array never ends (chunked, entries forever);
- ``cursor``: every page has ``page`` fresh entries and a fresh ``next`` cursor, forever;
- ``entry``: one page holding exactly the entries in ``extra`` (e.g. a size of ``2**63``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

COMMIT = "c" * 40


def entry(i: int) -> dict[str, Any]:
    oid = hashlib.sha1(str(i).encode()).hexdigest()
    return {"type": "file", "oid": oid, "size": i % 4096, "path": f"d{i % 1000:03d}/{i:08d}.bin"}


def ms_entry(i: int) -> dict[str, Any]:
    sha = hashlib.sha256(str(i).encode()).hexdigest()
    return {"Type": "blob", "Path": f"d{i % 1000:03d}/{i:08d}.bin", "Size": i, "Sha256": sha}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client hanging up on an endless body is the point


class HostileHub:
    """``with HostileHub("stream") as hub: hub.endpoint`` — see the module docstring."""

    def __init__(
        self, mode: str, *, entries: int = 0, page: int = 1000, extra: list[dict] | None = None
    ) -> None:
        self.mode, self.entries, self.page, self.extra = mode, entries, page, extra or []
        self.bytes_sent = 0
        self.requests = 0
        self._lock = threading.Lock()

    def __enter__(self) -> HostileHub:
        hub = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_GET(self) -> None:
                with hub._lock:
                    hub.requests += 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    hub._route(self)

        self._srv = _Server(("127.0.0.1", 0), H)
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self._srv.server_address[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._srv.shutdown()
        self._srv.server_close()

    # -- responses ---------------------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, body: Any, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        data = json.dumps(body).encode()
        h.send_response(200)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
        self.bytes_sent += len(data)

    def _stream(self, h: BaseHTTPRequestHandler, make: Any) -> None:
        """A chunked JSON array that never closes: ``make(i)`` entries until the client leaves."""
        h.send_response(200)
        h.send_header("content-type", "application/json")
        h.send_header("transfer-encoding", "chunked")
        h.end_headers()

        def chunk(data: bytes) -> None:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.bytes_sent += len(data)

        chunk(b"[")
        i = 0
        while True:
            chunk(b"".join(json.dumps(make(i + k)).encode() + b"," for k in range(500)))
            i += 500

    def _route(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path.startswith("/api/v1/"):  # ModelScope
            return self._modelscope(h, path, q)
        if "/revision/" in path:
            return self._send(h, {"sha": COMMIT})
        if "/tree/" not in path:
            h.send_response(404)
            h.send_header("content-length", "0")
            h.end_headers()
            return None
        base = f"{self.endpoint}{path}?recursive=true&expand=false"
        cursor = int(q.get("cursor", "0"))
        if self.mode == "stream":
            return self._stream(h, entry)
        if self.mode == "entry":
            return self._send(h, self.extra)
        if self.mode == "cursor":
            page = [entry(cursor + k) for k in range(self.page)]
            nxt = cursor + self.page
            return self._send(h, page, {"link": f'<{base}&cursor={nxt}>; rel="next"'})
        # huge: a real, finite listing
        stop = min(self.entries, cursor + self.page)
        page = [entry(i) for i in range(cursor, stop)]
        headers = {"link": f'<{base}&cursor={stop}>; rel="next"'} if stop < self.entries else {}
        return self._send(h, page, headers)

    def _modelscope(self, h: BaseHTTPRequestHandler, path: str, q: dict[str, str]) -> None:
        if path.endswith("/revisions"):
            rev = {"Branches": [{"Revision": "master", "CommitId": COMMIT}], "Tags": []}
            return self._send(h, {"Code": 200, "Data": {"RevisionMap": rev}})
        number = int(q.get("PageNumber", "1"))
        size = int(q.get("PageSize", "200"))
        if self.mode == "stream":
            h.send_response(200)
            h.send_header("content-type", "application/json")
            h.send_header("transfer-encoding", "chunked")
            h.end_headers()
            head = b'{"Code": 200, "Data": {"Files": ['
            h.wfile.write(b"%x\r\n%s\r\n" % (len(head), head))
            i = 0
            while True:
                data = b"".join(json.dumps(ms_entry(i + k)).encode() + b"," for k in range(500))
                h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.bytes_sent += len(data)
                i += 500
        if self.mode == "entry":
            return self._send(h, {"Code": 200, "Data": {"Files": self.extra}})
        start = (number - 1) * size
        if self.mode == "cursor":  # a dataset tree whose pages never run short
            files = [ms_entry(start + k) for k in range(size)]
        elif path.endswith("/repo/files"):  # huge model: one body with every entry
            files = [ms_entry(i) for i in range(self.entries)]
        else:
            files = [ms_entry(i) for i in range(start, min(self.entries, start + size))]
        return self._send(h, {"Code": 200, "Data": {"Files": files}})
