"""A walled github.com on loopback: git smart HTTP through git's own ``git http-backend`` (a CGI
program), release downloads with Range, and the releases API with each asset's ``digest``.

One sim host answers for every GitHub name (``GITHUB_NAMES``), told apart by the ``Host``
header, and speaks TLS with a certificate from a private CA the sim makes (``ca_pem``):

- through a proxy: the client sends ``CONNECT github.com:443``; the proxy (tinyproxy with
  ``Upstream`` lines from :func:`tinyproxy_upstreams`) hands that to this host, which answers
  200 and starts TLS on the tunnel — so nothing ever resolves ``github.com`` in DNS;
- directly: a client pointed here by the test's resolver (git's ``http.curloptResolve``, see
  :func:`direct_git_env`) starts TLS at once. In walled profiles it never gets that far: the
  wall resets every connection that does not come from the proxy egress.

Host options: ``releases`` ({"owner/repo": {"tag": {"asset name": size}}}), ``digest`` (True:
the API lists ``sha256:…`` per asset, as GitHub does for assets uploaded since mid-2025),
``range_mode`` (see ``serve_file``)::

    sim = Sim("wall", overrides=github_hosts())
    with TinyProxy(extra_config=tinyproxy_upstreams(sim)) as proxy: ...
"""

from __future__ import annotations

import os
import random
import re
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kuaidi.errors import KuaidiError
from kuaidi.sim.gitrepo import OWNER, REPO, Asset, build_bare_repo, git_binary, make_asset
from kuaidi.sim.server import (
    Host,
    Request,
    Response,
    _Handler,
    json_response,
    serve_file,
    text_response,
)

GITHUB_NAMES = (
    "github.com",
    "api.github.com",
    "codeload.github.com",
    "objects.githubusercontent.com",
    "release-assets.githubusercontent.com",
)
MiB = 1 << 20
DEFAULT_RELEASES: dict[str, dict[str, dict[str, int]]] = {
    f"{OWNER}/{REPO}": {"v0.1.0": {"hello-data.bin": 4 * MiB}}
}
_GIT_PATH = re.compile(
    r"^/([^/]+)/([^/]+?)(?:\.git)?/(info/refs|git-upload-pack|git-receive-pack|HEAD|objects/.+)$"
)
_DOWNLOAD = re.compile(r"^/([^/]+)/([^/]+)/releases/download/([^/]+)/([^/]+)$")
_API_RELEASE = re.compile(r"^/repos/([^/]+)/([^/]+)/releases/(?:tags/([^/]+)|(latest))$")
_ASSET = re.compile(r"^/github-production-release-asset/(\d+)/([^/]+)$")


def github_hosts(**options: Any) -> dict[str, dict[str, Any]]:
    """``Sim(overrides=…)`` entries adding the walled ``github`` host (options as above)."""
    return {"github": {"protocol": "github", "walled": True, "options": options}}


def state_dir(host: Host) -> Path:
    """Where this host's repo, assets and CA live (the sim's content cache)."""
    if host.sim is not None:
        return Path(host.sim.root) / "github"
    return Path(tempfile.gettempdir()) / "kuaidi-sim-github"


class _TLS:
    """The private CA and the server context, made once per host."""

    def __init__(self, directory: Path) -> None:
        try:
            import trustme
        except ModuleNotFoundError as exc:
            raise KuaidiError(
                "the sim's github host needs trustme for its TLS certificate",
                fix="pip install trustme (it is in kuaidi's dev extra)",
            ) from exc
        ca = trustme.CA(organization_name="kuaidi sim CA")
        leaf = ca.issue_cert(*GITHUB_NAMES, "localhost", "127.0.0.1")
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_pem = directory / f"ca-{os.getpid()}-{id(self)}.pem"
        ca.cert_pem.write_to_path(str(self.ca_pem))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(self.context)


class _TLSConnection:
    """A server-side TLS socket whose write errors read as the plain socket's: a client that
    went away mid-body is then logged (bytes sent, "aborted") like on any other sim host."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self._sock = sock

    def sendall(self, data: Any) -> None:
        try:
            self._sock.sendall(data)
        except (ssl.SSLError, ValueError) as exc:
            raise BrokenPipeError(str(exc)) from exc

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        try:
            return self._sock.sendfile(file, offset, count)
        except (ssl.SSLError, ValueError) as exc:
            raise BrokenPipeError(str(exc)) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class TunnelHandler(_Handler):
    """The sim's handler plus ``CONNECT`` (answered 200, then TLS) and direct TLS."""

    def setup(self) -> None:
        super().setup()
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        if first == b"\x16":  # a TLS ClientHello: a client that came here directly
            self._start_tls()

    def do_CONNECT(self) -> None:
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self._start_tls()
        self.close_connection = False  # the tunnel carries HTTP/1.1 from now on

    def _start_tls(self) -> None:
        context = self.server.host.tls.context
        tls = context.wrap_socket(self.connection, server_side=True)
        self.request = tls
        self.connection = _TLSConnection(tls)
        self.rfile = tls.makefile("rb", self.rbufsize)
        # _SocketWriter is what StreamRequestHandler uses for wfile; private, so not in typeshed
        self.wfile = socketserver._SocketWriter(tls)  # type: ignore[attr-defined]


class GitHubApp:
    """Dispatches on the Host header: github.com, api.github.com, the asset hosts."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.dir = state_dir(host)
        self.releases: dict[str, dict[str, dict[str, int]]] = host.options.get(
            "releases", DEFAULT_RELEASES
        )
        self._assets: dict[tuple[str, str, str, str], Asset] = {}
        self._by_id: dict[int, Asset] = {}
        self._lock = threading.Lock()
        self.repo_root = build_bare_repo(self.dir / "git").parent.parent
        self.tls = _TLS(self.dir / "tls")
        host.tls = self.tls
        host.handler_class = TunnelHandler

    # -- content ---------------------------------------------------------------------------
    def asset(self, owner: str, repo: str, tag: str, name: str) -> Asset | None:
        size = self.releases.get(f"{owner}/{repo}", {}).get(tag, {}).get(name)
        if size is None:
            return None
        key = (owner, repo, tag, name)
        with self._lock:
            found = self._assets.get(key)
            if found is None:
                found = make_asset(self.dir, owner, repo, tag, name, int(size))
                self._assets[key] = found
                self._by_id[found.asset_id] = found
        return found

    def _all(self) -> None:
        for full, tags in self.releases.items():
            owner, repo = full.split("/", 1)
            for tag, names in tags.items():
                for name in names:
                    self.asset(owner, repo, tag, name)

    # -- protocol --------------------------------------------------------------------------
    def __call__(self, req: Request) -> Response:
        name = (req.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        if name in ("github.com", "127.0.0.1", "localhost"):
            if _GIT_PATH.match(req.path):
                return self._git(req)
            m = _DOWNLOAD.match(req.path)
            if m:
                return self._download(*m.groups())
        elif name == "api.github.com":
            m = _API_RELEASE.match(req.path)
            if m:
                return self._api(m.group(1), m.group(2), m.group(3))
        elif name in ("release-assets.githubusercontent.com", "objects.githubusercontent.com"):
            m = _ASSET.match(req.path)
            if m:
                return self._serve(req, int(m.group(1)), m.group(2))
        return text_response("Not Found\n", 404)

    def _download(self, owner: str, repo: str, tag: str, name: str) -> Response:
        asset = self.asset(owner, repo, tag, name)
        if asset is None:
            return text_response("Not Found\n", 404)
        location = (
            "https://release-assets.githubusercontent.com/github-production-release-asset/"
            f"{asset.asset_id}/{quote(name)}?sp=r&sv=2018-11-09&sr=b&se=2099-01-01"
        )
        return Response(302, [("Location", location)], b"")

    def _api(self, owner: str, repo: str, tag: str | None) -> Response:
        tags = self.releases.get(f"{owner}/{repo}")
        if not tags:
            return json_response({"message": "Not Found"}, 404)
        tag = tag or next(iter(tags))
        if tag not in tags:
            return json_response({"message": "Not Found"}, 404)
        assets = []
        for name in tags[tag]:
            a = self.asset(owner, repo, tag, name)
            assert a is not None
            entry: dict[str, Any] = {
                "id": a.asset_id,
                "name": name,
                "size": a.size,
                "content_type": "application/octet-stream",
                "browser_download_url": (
                    f"https://github.com/{owner}/{repo}/releases/download/{tag}/{quote(name)}"
                ),
            }
            if self.host.options.get("digest", True):
                entry["digest"] = f"sha256:{a.sha256}"
            assets.append(entry)
        return json_response({"tag_name": tag, "name": tag, "assets": assets})

    def _serve(self, req: Request, asset_id: int, name: str) -> Response:
        if asset_id not in self._by_id:
            self._all()
        asset = self._by_id.get(asset_id)
        if asset is None or asset.name != name:
            return text_response("BlobNotFound\n", 404)
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("ETag", asset.etag),
            ("Last-Modified", formatdate(1767225600, usegmt=True)),
        ]
        mode = str(self.host.options.get("range_mode", "honour"))
        return serve_file(req, asset.path, asset.size, headers, range_mode=mode)

    def _git(self, req: Request) -> Response:
        m = _GIT_PATH.match(req.path)
        assert m is not None
        owner, repo, rest = m.groups()
        if not (self.repo_root / owner / f"{repo}.git").is_dir():
            return text_response("Repository not found.\n", 404)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.repo_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "PATH_INFO": f"/{owner}/{repo}.git/{rest}",
            "REQUEST_METHOD": req.method,
            "QUERY_STRING": req.raw_path.partition("?")[2],
            "CONTENT_TYPE": req.headers.get("Content-Type") or "",
            "CONTENT_LENGTH": str(len(req.body)),
            "REMOTE_ADDR": req.client[0],
            "GIT_PROTOCOL": req.headers.get("Git-Protocol") or "",
            "HTTP_CONTENT_ENCODING": req.headers.get("Content-Encoding") or "",
        }
        proc = subprocess.run(
            [git_binary(), "http-backend"], input=req.body, env=env, capture_output=True, timeout=60
        )
        return _cgi_response(proc.stdout)


def _cgi_response(raw: bytes) -> Response:
    """A CGI program's output (headers, blank line, body) as a Response."""
    sep = raw.find(b"\r\n\r\n")
    head, body = (raw[:sep], raw[sep + 4 :]) if sep >= 0 else raw.split(b"\n\n", 1)
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.split()[0])
        elif key:
            headers.append((key.strip(), value.strip()))
    return Response(status, headers, body)


def make_app(host: Host) -> GitHubApp:
    """The github app for ``host`` (builds the repo and the CA on first use)."""
    return GitHubApp(host)


# -- helpers for tests and `kuaidi sim` ------------------------------------------------------
def ca_pem(sim: Any) -> Path:
    """The PEM file of the CA the sim's github host's certificate chains to."""
    return sim.host("github").tls.ca_pem


def tinyproxy_upstreams(sim: Any) -> str:
    """tinyproxy config lines sending every GitHub name to the sim's github host (the
    proxy's outgoing address is its ``Bind``, so the wall lets these in)."""
    port = sim.host("github").port
    return "".join(f'Upstream http 127.0.0.1:{port} "{name}"\n' for name in GITHUB_NAMES)


def direct_road(sim: Any, *, seed: int | None = None) -> Host:
    """A second listener of the github host on ``127.77.x.y:443``: what ``github.com``
    resolves to for a client that goes *direct* (the wall still applies). Needs root (port
    443); the caller stops it. The address is random so parallel sims do not collide."""
    gh = sim.host("github")
    rng = random.Random(seed)
    for _attempt in range(20):
        address = f"127.77.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}"
        road = Host(
            "github-direct",
            app=gh.app,
            protocol="github",
            allowed_peers=gh.allowed_peers,
            sim=sim,
        )
        road.handler_class = TunnelHandler
        road.tls = gh.tls
        try:
            road.start(443, bind=address)
        except (KuaidiError, OSError):
            continue
        return road
    raise KuaidiError("no free 127.77.x.y:443 for the sim's direct road", fix="run as root")


def direct_git_env(sim: Any, road: Host | None = None) -> dict[str, str]:
    """Environment for git (and pip's git) in a test: trust the sim's CA and, with a ``road``
    (:func:`direct_road`), resolve github.com to it — the test's stand-in for DNS."""
    env = {"GIT_SSL_CAINFO": str(ca_pem(sim)), "GIT_CONFIG_NOSYSTEM": "1"}
    if road is not None:
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.curloptResolve",
            "GIT_CONFIG_VALUE_0": f"github.com:443:{road.bind}",
        }
    return env
