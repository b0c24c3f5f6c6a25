"""A simulated PyPI mirror: the simple API (PEP 503/691), wheel files with Range, mirror quirks.

``make_app(host)`` serves the generated wheels of :mod:`kuaidi.sim.wheels`. Host options (all
optional; the sim's profiles declare hosts, tests may override):

``simple_path`` (``"/simple"``)
    Where the index lives, e.g. ``"/pypi/web/simple"`` for TUNA-style mirrors. Files are served
    from the sibling ``packages/`` directory (``/pypi/web/packages/…``).
``seed`` (the sim's seed, else 0) and ``blob_size`` (2 MiB)
    Which wheel bytes to serve; equal seeds give byte-identical mirrors.
``core_metadata`` (``True``)
    Advertise and serve PEP 658 ``.metadata`` sidecars. Off, uv reads METADATA from the wheel
    with Range requests.
``stale_versions: N`` (0)
    The mirror lags: the newest N versions of every project are neither listed nor served.
``redirect_files_to: <host name or URL>``
    File downloads answer 302 to the same file on another mirror (USTC → TUNA on a cache miss).
    A host name is resolved through the sim (and that host's ``simple_path``).
``answer_html_garbage: true``
    A captive portal: 200 and the same login page for every path.
``status_json: {"synced_ago": seconds, "status": "success" | "failed" | …}``
    Serve tunasync-style freshness data at ``/static/tunasync.json``.
``range_mode`` (``"honour"``)
    How file Range requests are answered (see :func:`kuaidi.sim.server.serve_file`).

Example::

    host = Host("tuna", protocol="pypi", options={"simple_path": "/pypi/web/simple"})
    host.app = make_app(host); host.start()
    # pip download -i {host.base_url}/pypi/web/simple kdemo-lib
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kuaidi.sim import pypi_simple as simple
from kuaidi.sim.server import App, Host, Request, Response, json_response, serve_file
from kuaidi.sim.wheels import DEFAULT_BLOB_SIZE, Wheel, WheelIndex, demo_index, normalize

# Hosts this module adds to every sim profile (merged by kuaidi.sim.profiles; tests override).
# "pypi-tuna", "pypi-aliyun" and "pypi-slow" come from the core's profiles as plain mirrors.
PYPI_HOSTS: dict[str, dict[str, Any]] = {
    "pypi-tuna": {"options": {"status_json": {"synced_ago": 300, "status": "success"}}},
    # USTC's PyPI is a cache: misses are 302-redirected to TUNA (ustclug/discussions#506).
    "pypi-ustc": {"options": {"redirect_files_to": "pypi-tuna"}},
    # A mirror whose sync broke a while ago: the newest version of everything is missing.
    "pypi-stale": {
        "options": {
            "simple_path": "/pypi/web/simple",
            "stale_versions": 1,
            "status_json": {"synced_ago": 3 * 86400, "status": "failed"},
        }
    },
    # Campus Wi-Fi before login: every URL is a 200 HTML login page.
    "pypi-portal": {"options": {"answer_html_garbage": True}},
}


def _redirect(location: str, status: int = 301) -> Response:
    return Response(status, [("Location", location), ("Content-Type", "text/plain")], b"")


def _not_found(what: str) -> Response:
    return Response(404, [("Content-Type", "text/plain; charset=utf-8")], f"{what}\n".encode())


def _wheel_dir(host: Host, index_key: str) -> Path:
    """Where the wheel files live on disk so they can be served with sendfile and Range.

    Content-addressed by seed and size, so concurrent hosts (and test processes) share it.
    """
    if host.sim is not None:
        root = Path(host.sim.catalog.cache_dir) / "pypi"
    else:
        root = Path(tempfile.gettempdir()) / "kuaidi-sim-wheels"
    path = root / index_key
    path.mkdir(parents=True, exist_ok=True)
    return path


def _materialize(directory: Path, wheel: Wheel) -> Path:
    target = directory / wheel.filename
    if target.exists() and target.stat().st_size == wheel.size:
        return target
    # Another process may be writing the same file: write aside, then replace atomically.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(wheel.data)
    os.replace(tmp, target)
    return target


def tunasync_status(name: str, synced_ago: float, status: str, now: float) -> list[dict[str, Any]]:
    """One tunasync ``/static/tunasync.json`` entry (tuna/tunasync ``internal/status.go``)."""

    def stamp(ts: float) -> str:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000")

    last_ok = int(now - synced_ago)
    ended = int(now - min(synced_ago, 300)) if status == "failed" else last_ok
    nxt = int(now + 300)
    return [
        {
            "name": name,
            "is_master": True,
            "status": status,
            "last_update": stamp(last_ok),
            "last_update_ts": last_ok,
            "last_started": stamp(ended - 60),
            "last_started_ts": ended - 60,
            "last_ended": stamp(ended),
            "last_ended_ts": ended,
            "next_schedule": stamp(nxt),
            "next_schedule_ts": nxt,
            "upstream": "https://pypi.org/",
            "size": "27.1T",
        }
    ]


class PypiMirror:
    """The request handling of one simulated PyPI mirror (see the module doc for options)."""

    def __init__(self, host: Host) -> None:
        opts = host.options
        self.host = host
        self.simple_path = "/" + str(opts.get("simple_path", "/simple")).strip("/")
        self.root = self.simple_path.rsplit("/", 1)[0]  # "" or "/pypi/web"
        seed = int(opts.get("seed", getattr(host.sim, "seed", 0) or 0))
        blob_size = int(opts.get("blob_size", DEFAULT_BLOB_SIZE))
        self.index: WheelIndex = demo_index(seed, blob_size=blob_size)
        self.core_metadata = bool(opts.get("core_metadata", True))
        self.stale = int(opts.get("stale_versions", 0))
        self.redirect_to = opts.get("redirect_files_to")
        self.garbage = bool(opts.get("answer_html_garbage", False))
        self.status_json = opts.get("status_json")
        self.range_mode = str(opts.get("range_mode", "honour"))
        self.files = _wheel_dir(host, f"seed{seed}-blob{blob_size}")

    def visible(self, name: str) -> tuple[Wheel, ...]:
        return self.index.visible(name, hide_newest=self.stale)

    def __call__(self, req: Request) -> Response:
        if self.garbage:
            return Response(
                200, [("Content-Type", "text/html; charset=utf-8")], simple.CAPTIVE_PORTAL
            )
        if req.method not in ("GET", "HEAD"):
            return Response(405, [("Allow", "GET, HEAD")], b"")
        path = req.path
        if path == "/static/tunasync.json" and self.status_json is not None:
            return self._status()
        if path == self.simple_path:
            return _redirect(self.simple_path + "/")
        if path.startswith(self.simple_path + "/"):
            return self._index(req, path[len(self.simple_path) + 1 :])
        if path.startswith(self.root + "/packages/"):
            return self._file(req, path[len(self.root) + 1 :])  # "packages/ab/cd/…/x.whl"
        return _not_found("Not Found")

    def _status(self) -> Response:
        cfg = dict(self.status_json or {})
        now = time.time()
        doc = tunasync_status(
            "pypi", float(cfg.get("synced_ago", 0)), str(cfg.get("status", "success")), now
        )
        return json_response(doc)

    def _index(self, req: Request, rest: str) -> Response:
        media = simple.negotiate(req.headers.get("Accept"), req.arg("format"))
        if media is None:
            return Response(406, [("Content-Type", "text/plain")], b"Not Acceptable\n")
        headers = [("Content-Type", media), ("Vary", "Accept"), ("Cache-Control", "max-age=600")]
        if media == simple.TEXT_HTML:
            headers[0] = ("Content-Type", "text/html; charset=utf-8")
        if rest == "":
            names = [n for n in self.index.names() if self.visible(n)]
            body = simple.root_json(names) if media == simple.JSON_V1 else simple.root_html(names)
            return Response(200, headers, body)
        name = rest.rstrip("/")
        if "/" in name:
            return _not_found("Not Found")
        canonical = normalize(name)
        if name != canonical or not rest.endswith("/"):
            # pypi.org redirects every other spelling to the normalized, slash-terminated URL.
            return _redirect(f"{self.simple_path}/{canonical}/")
        wheels = self.visible(canonical)
        if not wheels:
            return _not_found(f"404 Not Found: {canonical}")
        render = simple.project_json if media == simple.JSON_V1 else simple.project_html
        return Response(200, headers, render(canonical, wheels, core_metadata=self.core_metadata))

    def _file(self, req: Request, rel: str) -> Response:
        want_metadata = rel.endswith(".metadata")
        wheel = self.index.by_url_path(rel.removesuffix(".metadata"))
        if wheel is None or wheel not in self.visible(wheel.project):
            return _not_found("Not Found")
        if want_metadata and not self.core_metadata:
            return _not_found("Not Found")
        if self.redirect_to:
            return _redirect(self._redirect_base() + "/" + rel, 302)
        if want_metadata:
            return Response(200, [("Content-Type", "application/octet-stream")], wheel.metadata)
        path = _materialize(self.files, wheel)
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("ETag", f'"{wheel.sha256}"'),
            ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ]
        return serve_file(req, path, wheel.size, headers, range_mode=self.range_mode)

    def _redirect_base(self) -> str:
        target = str(self.redirect_to)
        if target.startswith(("http://", "https://")):
            return target.rstrip("/")
        sim = self.host.sim
        if sim is None:
            raise ValueError(f"redirect_files_to={target!r} names a host, but no sim is attached")
        other = _sim_host(sim, target)
        simple_path = str(other.options.get("simple_path", "/simple")) if other else "/simple"
        root = ("/" + simple_path.strip("/")).rsplit("/", 1)[0]
        return sim.url(target).rstrip("/") + root


def _sim_host(sim: Any, name: str) -> Host | None:
    hosts = getattr(sim, "hosts", None)
    if isinstance(hosts, dict):
        return hosts.get(name)
    return None


def make_app(host: Host) -> App:
    """The PyPI mirror app for ``host`` (options are read once, at start)."""
    return PypiMirror(host)
