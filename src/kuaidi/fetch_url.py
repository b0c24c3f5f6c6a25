"""``kuaidi get URL``: any http(s) file through the same engine as repos — segmented, resumable
after kill -9 (journal next to the partial), stall watchdog, verified before it gets its name.

Routing is the proxy scope's: hosts the catalog marks origin-side (github.com,
githubusercontent.com, download.pytorch.org, huggingface.co, …) go through the proxy
(``--proxy``, ``KUAIDI_PROXY``, the shell's, AutoDL's network_turbo), every other host direct.
A GitHub release asset (``gh:owner/repo@tag/asset`` or its github.com URL) is first tried on a
university mirror that re-hosts that project's releases, then on GitHub through the proxy.

What "verified" means is said per file: ``--sha256``; else the ``digest`` GitHub's releases API
publishes for the asset (when reachable); else the size plus the server's strong validator
(ETag / Last-Modified, which must not change across a resume) — no content check.

    >>> parse_target("gh:astral-sh/uv@0.5.0/uv-x86_64-unknown-linux-gnu.tar.gz").url
    'https://github.com/astral-sh/uv/releases/download/0.5.0/uv-x86_64-unknown-linux-gnu.tar.gz'
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from kuaidi.errors import EntryNotFound, KuaidiError, SourceUnavailable, UsageError
from kuaidi.mirrors.code import ReleaseMirror, code_catalog, find_release_mirror, release_mirror_for
from kuaidi.model import FileJob, RemoteFile, Route, RouteKind
from kuaidi.net.client import make_client
from kuaidi.net.scope import ProxyScope
from kuaidi.net.urls import check_url
from kuaidi.store.plain import PlainTarget
from kuaidi.transfer.engine import Engine
from kuaidi.transfer.job import EngineOptions
from kuaidi.transfer.progress import Events

_GH = re.compile(r"^gh:([\w.-]+)/([\w.-]+)@([^/]+)/(.+)$")
_GH_URL = re.compile(r"^/([\w.-]+)/([\w.-]+)/releases/download/([^/]+)/([^/]+)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_url_target(arg: str) -> bool:
    """True for what ``kuaidi get`` should fetch as a plain file, not a repo id."""
    return arg.startswith(("http://", "https://", "gh:"))


@dataclass(frozen=True)
class UrlTarget:
    url: str
    release: tuple[str, str, str, str] | None = None  # owner, repo, tag, asset

    @property
    def name(self) -> str:
        return unquote(urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]) or "index.html"


def parse_target(arg: str) -> UrlTarget:
    """A URL or ``gh:owner/repo@tag/asset``; one-line UsageError otherwise."""
    m = _GH.match(arg)
    if m:
        owner, repo, tag, asset = m.groups()
        url = f"https://github.com/{owner}/{repo}/releases/download/{tag}/{asset}"
        return UrlTarget(url, (owner, repo, tag, asset))
    if arg.startswith("gh:"):
        raise UsageError(f"bad release {arg!r}", fix="write gh:OWNER/REPO@TAG/ASSET")
    check_url(arg, what="URL")
    parts = urlsplit(arg)
    m = _GH_URL.match(parts.path)
    if (parts.hostname or "").lower() == "github.com" and m:
        owner, repo, tag, asset = (unquote(g) for g in m.groups())
        return UrlTarget(arg, (owner, repo, tag, asset))
    return UrlTarget(arg)


@dataclass
class Probe:
    size: int
    ranges: bool
    etag: str | None
    last_modified: str | None

    @property
    def validators(self) -> dict[str, object]:
        return {"size": self.size, "etag": self.etag, "last_modified": self.last_modified}

    @property
    def strong(self) -> str | None:
        if self.etag and not self.etag.startswith("W/"):
            return f"ETag {self.etag}"
        return f"Last-Modified {self.last_modified}" if self.last_modified else None


@dataclass
class UrlResult:
    url: str
    path: Path
    ok: bool
    status: str  # fetched | present | failed
    size: int = 0
    bytes_fetched: int = 0
    seconds: float = 0.0
    verified_by: str = ""
    served_by: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    kind: str | None = None
    notes: list[str] = field(default_factory=list)


def code_scope(proxy: str | None = None, network_turbo: str | None = None) -> ProxyScope:
    """The process's proxy scope with the catalog's origin-side code hosts added."""
    scope = (
        ProxyScope.from_env(proxy=proxy)
        if network_turbo is None
        else ProxyScope.from_env(proxy=proxy, turbo_path=network_turbo)
    )
    extra = tuple(h for h in code_catalog().origin_hosts if h not in scope.origin_suffixes)
    return dataclasses.replace(scope, origin_suffixes=scope.origin_suffixes + extra)


def probe(client: httpx.Client, url: str) -> Probe:
    """Size, Range support and validators of ``url`` from one ``bytes=0-0`` GET."""
    try:
        with client.stream(
            "GET",
            url,
            headers={"range": "bytes=0-0", "accept-encoding": "identity"},
            follow_redirects=True,
        ) as resp:
            status = resp.status_code
            headers = resp.headers
    except httpx.HTTPError as exc:
        raise SourceUnavailable(
            f"{urlsplit(url).hostname}: {type(exc).__name__}: {exc}",
            fix="check the URL and the proxy (kuaidi doctor), then run the same command again",
        ) from exc
    etag, modified = headers.get("etag"), headers.get("last-modified")
    if status == 206:
        total = headers.get("content-range", "").rpartition("/")[2]
        if total.isdigit():
            return Probe(int(total), True, etag, modified)
    if status == 200 and headers.get("content-length", "").isdigit():
        return Probe(int(headers["content-length"]), False, etag, modified)
    if status in (404, 410):
        raise EntryNotFound(f"{url}: HTTP {status}", fix="check the URL")
    if status == 200:
        raise SourceUnavailable(
            f"{url}: the server does not say how large the file is",
            fix="use curl -O for a streamed answer without Content-Length",
        )
    raise SourceUnavailable(f"{url}: HTTP {status}", fix="try again later, or check the URL")


def release_digest(client: httpx.Client, release: tuple[str, str, str, str]) -> str | None:
    """The ``sha256`` GitHub's releases API lists for the asset (None when not reachable/listed)."""
    owner, repo, tag, asset = release
    api = f"https://api.github.com/repos/{owner}/{repo}/releases/tags/{tag}"
    try:
        resp = client.get(api, headers={"accept": "application/vnd.github+json"}, timeout=15)
        if resp.status_code != 200:
            return None
        for entry in resp.json().get("assets", []):
            digest = str(entry.get("digest") or "")
            if entry.get("name") == asset and digest.startswith("sha256:"):
                return digest.removeprefix("sha256:").lower()
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return None


def fetch_url(
    arg: str,
    final: Path,
    *,
    sha256: str | None = None,
    connections: int = 8,
    proxy: str | None = None,
    network_turbo: str | None = None,
    release_mirror: str | None = None,
    stall_timeout: float = 20.0,
    journal_every: int | None = None,
    events: Callable[[], Events] = Events,
) -> UrlResult:
    """Deliver one URL to ``final``. Raises KuaidiError for bad input or an unreachable URL."""
    target_url = parse_target(arg)
    if sha256 is not None and not _SHA256.match(sha256.lower()):
        raise UsageError(f"--sha256 {sha256!r} is not 64 hex digits", fix="paste the full hash")
    scope = code_scope(proxy, network_turbo)
    client = make_client(scope)
    direct = make_client(ProxyScope.direct())
    notes: list[str] = []
    info = probe(client, target_url.url)
    expected, verified_by = (sha256.lower() if sha256 else None), "--sha256"
    if expected is None and target_url.release is not None:
        expected = release_digest(client, target_url.release)
        verified_by = "sha256 from GitHub's releases API"
        if expected is None:
            notes.append("GitHub's releases API gave no digest for this asset")
    if expected is None:
        verified_by = f"size + {info.strong} (no published hash; --sha256 checks content)"
        if info.strong is None:
            verified_by = "size only (no hash, no strong validator; --sha256 checks content)"
    routes = _mirror_routes(direct, target_url, info, release_mirror, notes)
    kind: RouteKind = "origin" if scope.is_origin(target_url.url) else "mirror"
    routes.append(
        Route(urlsplit(target_url.url).hostname or "?", target_url.url, client, kind=kind)
    )
    if not info.ranges:
        # The engine itself keeps a file that answered 200 to a ranged GET on one stream.
        where = routes[0].source if len(routes) > 1 else urlsplit(target_url.url).hostname
        notes.append(f"{where} ignores Range: one stream")
    final = final.expanduser().absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    target = PlainTarget(final)
    changed = target.keep_validators(info.validators)
    if changed:
        notes.append(changed)
    remote = RemoteFile(final.name, info.size, sha256=expected, lfs=expected is not None)
    opts = EngineOptions(
        connections=connections,
        stall_timeout=stall_timeout,
        verify_attempts=2,
    )
    if journal_every:
        opts = dataclasses.replace(opts, flush_bytes=journal_every)
    started = time.monotonic()
    try:
        report = Engine(target, opts, events()).run([FileJob(remote, routes)])
    finally:
        client.close()
        direct.close()
    outcome = report.files[0]
    failed = outcome.error or ""
    if outcome.status != "failed":  # the lock and the validators only matter for a partial
        for leftover in (target.placement(remote).lock, target.validators_path):
            leftover.unlink(missing_ok=True)
    return UrlResult(
        url=target_url.url,
        path=final,
        ok=outcome.status != "failed",
        status=outcome.status,
        size=info.size,
        bytes_fetched=report.bytes_fetched,
        seconds=time.monotonic() - started,
        verified_by=verified_by,
        served_by=dict(outcome.sources),
        error=outcome.error,
        kind=outcome.kind or ("VerificationFailed" if "verification" in failed else None),
        notes=notes,
    )


def _mirror_routes(
    direct: httpx.Client,
    target: UrlTarget,
    info: Probe,
    choice: str | None,
    notes: list[str],
) -> list[Route]:
    """The release mirror rung, when the project is listed there and it has the same size."""
    if target.release is None:
        return []
    owner, repo, tag, asset = target.release
    mirror: ReleaseMirror | None
    mirror = find_release_mirror(choice) if choice is not None else release_mirror_for(owner, repo)
    if mirror is None or not mirror.lists(owner, repo):
        return []
    url = mirror.asset_url(owner, repo, tag, asset)
    try:
        there = probe(direct, url)
    except KuaidiError:
        notes.append(f"{mirror.display or mirror.name} does not have it: GitHub only")
        return []
    if there.size != info.size:
        notes.append(f"{mirror.display or mirror.name} has another size: GitHub only")
        return []
    if not there.ranges:
        info.ranges = False  # said in the notes; the engine keeps such a file on one stream
    return [Route(f"{mirror.name} release mirror", url, direct, kind="mirror", strong=False)]


def output_path(target: UrlTarget, output: Path | None, directory: Path | None) -> Path:
    """``-o PATH``, else ``--dir D`` / the current directory plus the URL's file name."""
    if output is not None:
        return output
    name = target.name
    if name in ("", ".", "..") or "/" in name:
        raise UsageError(f"cannot name a file after {target.url}", fix="give -o PATH")
    return (directory or Path.cwd()) / name


def check_names(args: list[str], output: Path | None) -> None:
    """``-o`` names one file: refuse it for several URLs."""
    if output is not None and len(args) > 1:
        raise UsageError("-o names one file but several URLs were given", fix="use --dir DIR")
    unknown = next((a for a in args if not is_url_target(a)), None)
    if unknown is not None:
        raise UsageError(
            f"{unknown!r} is not a URL (kuaidi get takes either one repo or URLs)",
            fix="give http(s):// URLs or gh:OWNER/REPO@TAG/ASSET, or one repo id",
        )
