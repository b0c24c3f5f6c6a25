"""A small HF-protocol server for the get tests, used until/unless ``kuaidi.sim`` is available.

Two hosts on loopback: the endpoint (API, ``/resolve`` → 307 resolve-cache for small files, 302
to the CDN for LFS files) and a CDN serving signed, expiring URLs with Range. Faults are seeded
rules that fire a limited number of times. huggingface_hub itself is run against it in the tests,
so the protocol is checked by a real peer, not only by kuaidi.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

LFS_MIN = 10_000


@dataclass
class Fault:
    kind: str  # stall | reset | corrupt | 429 | 503 | expire | norange | truncate
    path: str = "*"
    times: int = 1
    after: int = 0  # bytes into the body (stall/reset/truncate), or file offset (corrupt)
    seconds: float = 30.0  # stall length / Retry-After


@dataclass
class Repo:
    repo_id: str
    files: dict[str, bytes]
    repo_type: str = "model"
    revisions: dict[str, str] = field(default_factory=dict)
    gated: bool = False

    def commit(self) -> str:
        h = hashlib.sha1(self.repo_id.encode())
        for p in sorted(self.files):
            h.update(p.encode() + hashlib.sha1(self.files[p]).digest())
        return h.hexdigest()

    def entry(self, path: str) -> dict:
        data = self.files[path]
        oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        e = {"type": "file", "oid": oid, "size": len(data), "path": path}
        if is_lfs(path, data):
            e["lfs"] = {
                "oid": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "pointerSize": 130,
            }
        return e


def is_lfs(path: str, data: bytes) -> bool:
    return len(data) >= LFS_MIN or path.endswith((".bin", ".safetensors"))


class Log:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[dict] = []
        self.body_bytes: dict[str, int] = {}

    def add(self, **kw: object) -> None:
        with self.lock:
            self.entries.append(kw)

    def count(self, path: str, n: int) -> None:
        with self.lock:
            self.body_bytes[path] = self.body_bytes.get(path, 0) + n

    def saw_token(self, token: str) -> bool:
        fp = hashlib.sha256(f"Bearer {token}".encode()).hexdigest()[:12]
        return any(e.get("auth") == fp for e in self.entries)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients dropping connections is the point of several tests


class HFServer:
    """``with HFServer([Repo(...)]) as s: s.endpoint`` — endpoint + CDN hosts, faults, logs."""

    def __init__(
        self,
        repos: list[Repo],
        token: str | None = None,
        page_size: int = 1000,
        foreign_link: bool = False,
        url_ttl: float = 3600.0,
        rate: float | None = None,
    ) -> None:
        self.repos = {(r.repo_type, r.repo_id): r for r in repos}
        self.token = token
        self.page_size = page_size
        self.foreign_link = foreign_link
        self.url_ttl = url_ttl
        self.rate = rate  # bytes/s per connection (None = unthrottled)
        self.link_loop = False  # page 2 says "next" = page 2 (a looping cursor)
        self.faults: list[Fault] = []
        self.fault_lock = threading.Lock()
        self.api_log, self.cdn_log = Log(), Log()
        self.extra_tree: dict[str, list[dict]] = {}  # repo_id -> hostile entries appended

    # -- lifecycle --
    def __enter__(self) -> HFServer:
        self._api = self._serve(self._api_handler)
        self._cdn = self._serve(self._cdn_handler)
        self.endpoint = f"http://127.0.0.1:{self._api.server_address[1]}"
        self.cdn = f"http://127.0.0.2:{self._cdn.server_address[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        for s in (self._api, self._cdn):
            s.shutdown()
            s.server_close()

    def _serve(self, handler_fn):  # type: ignore[no-untyped-def]
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_GET(self) -> None:
                handler_fn(self, outer)

            def do_HEAD(self) -> None:
                handler_fn(self, outer)

        host = "127.0.0.1" if not hasattr(self, "_api") else "127.0.0.2"
        srv = _QuietServer((host, 0), H)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return srv

    def take_fault(self, kind: str, path: str) -> Fault | None:
        with self.fault_lock:
            for f in self.faults:
                if f.kind == kind and f.times > 0 and fnmatchcase(path, f.path):
                    f.times -= 1
                    return f
        return None

    def find(self, rtype: str, repo_id: str) -> Repo | None:
        return self.repos.get((rtype, repo_id))

    # -- endpoint --
    @staticmethod
    def _api_handler(h: BaseHTTPRequestHandler, s: HFServer) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        auth = h.headers.get("authorization")
        fp = hashlib.sha256(auth.encode()).hexdigest()[:12] if auth else None
        s.api_log.add(method=h.command, path=path, auth=fp, range=h.headers.get("range"))
        authed = s.token is not None and auth == f"Bearer {s.token}"

        def send(status: int, body: bytes = b"", headers: dict | None = None) -> None:
            h.send_response(status)
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.send_header("content-length", str(len(body)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(body)

        if path.startswith("/api/resolve-cache/"):
            segs = path.split("/")[3:]  # type, org, name, commit, path…
            repo = s.find(
                {"models": "model", "datasets": "dataset"}.get(segs[0], "?"), "/".join(segs[1:3])
            )
            if repo is None or (repo.gated and not authed):
                return send(404, b"", {"x-error-code": "RepoNotFound"})
            return s._file(h, repo, "/".join(segs[4:]), send)
        if path.startswith("/api/"):
            segs = path[5:].split("/")
            rtype = {"models": "model", "datasets": "dataset"}.get(segs[0], "?")
            repo = s.find(rtype, "/".join(segs[1:3]))
            if repo is None or (repo.gated and not authed):
                code = "GatedRepo" if repo is not None else "RepoNotFound"
                return send(403 if repo else 401, b"{}", {"x-error-code": code})
            commit = repo.commit()
            rest = segs[3:]
            if rest[:1] == ["revision"]:
                rev = "/".join(rest[1:])
                if rev not in ("main", commit, *repo.revisions):
                    return send(404, b"{}", {"x-error-code": "RevisionNotFound"})
                return send(
                    200,
                    json.dumps({"id": repo.repo_id, "sha": commit}).encode(),
                    {"content-type": "application/json"},
                )
            if rest[:1] == ["tree"]:
                entries = [repo.entry(p) for p in sorted(repo.files)]
                entries += s.extra_tree.get(repo.repo_id, [])
                cursor = int(parse_qs(parts.query).get("cursor", ["0"])[0])
                page = entries[cursor : cursor + s.page_size]
                headers = {"content-type": "application/json"}
                if cursor + s.page_size < len(entries):
                    base = "https://huggingface.co" if s.foreign_link else s.endpoint
                    nxt_cursor = s.page_size if s.link_loop else cursor + s.page_size
                    query = f"recursive=true&expand=false&cursor={nxt_cursor}"
                    nxt = f"{base}{parts.path}?{query}"
                    headers["link"] = f'<{nxt}>; rel="next"'
                return send(200, json.dumps(page).encode(), headers)
            return send(404, b"{}")
        # /{[datasets/]org/name}/resolve/{rev}/{path}
        rtype = "model"
        p = path.lstrip("/")
        if p.startswith("datasets/"):
            rtype, p = "dataset", p[len("datasets/") :]
        segs = p.split("/")
        repo = s.find(rtype, "/".join(segs[:2]))
        if repo is None or len(segs) < 5 or segs[2] != "resolve":
            return send(404, b"", {"x-error-code": "RepoNotFound"})
        if repo.gated and not authed:
            return send(403, b"", {"x-error-code": "GatedRepo"})
        fpath = "/".join(segs[4:])
        if fpath not in repo.files:
            return send(404, b"", {"x-error-code": "EntryNotFound", "x-repo-commit": repo.commit()})
        data = repo.files[fpath]
        commit = repo.commit()
        if is_lfs(fpath, data):
            exp = time.time() + s.url_ttl
            sig = hashlib.sha256(f"{fpath}{exp}".encode()).hexdigest()[:16]
            loc = f"{s.cdn}/{rtype}/{repo.repo_id}/{quote(fpath)}?Expires={exp:.3f}&Signature={sig}"
            return send(
                302,
                b"",
                {
                    "location": loc,
                    "x-repo-commit": commit,
                    "x-linked-etag": f'"{hashlib.sha256(data).hexdigest()}"',
                    "x-linked-size": str(len(data)),
                },
            )
        prefix = "datasets" if rtype == "dataset" else "models"
        loc = f"/api/resolve-cache/{prefix}/{repo.repo_id}/{commit}/{quote(fpath)}"
        return send(307, b"", {"location": loc, "x-repo-commit": commit})

    def _file(self, h, repo: Repo, fpath: str, send) -> None:  # type: ignore[no-untyped-def]
        if fpath not in repo.files:
            return send(404, b"", {"x-error-code": "EntryNotFound"})
        data = repo.files[fpath]
        etag = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        serve_bytes(
            h,
            self,
            self.api_log,
            fpath,
            data,
            {"etag": f'"{etag}"', "x-repo-commit": repo.commit()},
        )

    # -- CDN --
    @staticmethod
    def _cdn_handler(h: BaseHTTPRequestHandler, s: HFServer) -> None:
        parts = urlsplit(h.path)
        s.cdn_log.add(
            method=h.command,
            path=unquote(parts.path),
            auth=(
                hashlib.sha256(h.headers["authorization"].encode()).hexdigest()[:12]
                if h.headers.get("authorization")
                else None
            ),
            range=h.headers.get("range"),
        )
        segs = unquote(parts.path).lstrip("/").split("/")
        repo = s.find(segs[0], "/".join(segs[1:3]))
        fpath = "/".join(segs[3:])
        q = parse_qs(parts.query)
        exp = float(q.get("Expires", ["0"])[0])
        if repo is None or fpath not in repo.files:
            h.send_response(404)
            h.send_header("content-length", "0")
            h.end_headers()
            return
        if time.time() > exp or s.take_fault("expire", fpath):
            h.send_response(403)
            h.send_header("content-length", "0")
            h.end_headers()
            return
        serve_bytes(
            h,
            s,
            s.cdn_log,
            fpath,
            repo.files[fpath],
            {"etag": f'"{hashlib.sha256(repo.files[fpath]).hexdigest()}"'},
        )


def serve_bytes(h, s: HFServer, log: Log, fpath: str, data: bytes, extra: dict) -> None:  # type: ignore[no-untyped-def]
    for kind, status in (("429", 429), ("503", 503)):
        f = s.take_fault(kind, fpath)
        if f:
            h.send_response(status)
            h.send_header("retry-after", str(int(f.seconds)) if kind == "429" else "0")
            h.send_header("content-length", "0")
            h.end_headers()
            return
    size = len(data)
    start, end = 0, size
    rng = h.headers.get("range")
    ranged = False
    if rng and rng.startswith("bytes=") and not s.take_fault("norange", fpath):
        a, _, b = rng[6:].partition("-")
        start, end = int(a), (int(b) + 1 if b else size)
        end = min(end, size)
        if start >= size:
            h.send_response(416)
            h.send_header("content-range", f"bytes */{size}")
            h.send_header("content-length", "0")
            h.end_headers()
            return
        ranged = True
    h.send_response(206 if ranged else 200)
    for k, v in extra.items():
        h.send_header(k, v)
    if ranged:
        h.send_header("content-range", f"bytes {start}-{end - 1}/{size}")
    h.send_header("accept-ranges", "bytes")
    h.send_header("content-length", str(end - start))
    h.end_headers()
    if h.command == "HEAD":
        return
    body = bytearray(data[start:end])
    corrupt = s.take_fault("corrupt", fpath)
    if corrupt and start <= corrupt.after < end:
        body[corrupt.after - start] ^= 0xFF
    elif corrupt:
        with s.fault_lock:
            corrupt.times += 1  # not in this range: keep it for a later request
    cut = len(body)
    action = None
    for kind in ("stall", "reset", "truncate"):
        f = s.take_fault(kind, fpath)
        if f:
            cut, action = min(len(body), f.after), (kind, f)
            break
    sent = 0
    step = 64 * 1024
    try:
        while sent < cut:
            n = min(step, cut - sent)
            h.wfile.write(body[sent : sent + n])
            sent += n
            log.count(fpath, n)
            if s.rate:
                time.sleep(n / s.rate)
        h.wfile.flush()
        if action is None:
            return
        kind, f = action
        if kind == "stall":
            time.sleep(f.seconds)
        elif kind == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.connection.close()
    except OSError:
        h.close_connection = True
