"""The status page (``/``) and ``/metrics`` of ``kuaidi serve``.

The page is plain HTML (no script, a meta refresh), every value escaped. Cached repos come from
huggingface_hub's ``scan_cache_dir`` of the server's store (the same view ``hf cache scan``
gives), their last use from the disk budget's record when it has one.
"""

from __future__ import annotations

import asyncio
import html
import time
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from kuaidi.serve.budget import load_last_use
from kuaidi.serve.stats import FillView, ServeStats
from kuaidi.units import format_rate, format_size

REFRESH_SECONDS = 5
SCAN_TTL = 3.0  # seconds one scan of the store serves every page view (several open browsers)


@dataclass(frozen=True)
class ServerInfo:
    """What the page says about the server itself: the ladder and the store."""

    endpoints: tuple[str, ...]
    modelscope: str | None
    proxy_scope: str  # e.g. "huggingface.co only, via http://proxy:3128" or "none"
    cache_dir: Path
    max_size: int | None  # None: no --max-size
    offline: bool = False
    pins: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CachedRepo:
    kind: str
    repo_id: str
    size: int
    files: int
    revisions: int
    last_use: float | None  # unix time


def cached_repos(cache_dir: Path) -> list[CachedRepo]:
    """The store's repos, most recently used first; empty when the store or hub is absent."""
    try:
        from huggingface_hub import scan_cache_dir
    except ImportError:
        return []
    if not Path(cache_dir).is_dir():
        return []
    info = scan_cache_dir(cache_dir)
    recorded = load_last_use(cache_dir)
    repos = []
    for repo in info.repos:
        last = recorded.get(Path(repo.repo_path).name, repo.last_accessed or repo.last_modified)
        repos.append(
            CachedRepo(
                repo.repo_type,
                repo.repo_id,
                repo.size_on_disk,
                repo.nb_files,
                len(repo.revisions),
                last,
            )
        )
    return sorted(repos, key=lambda r: (-(r.last_use or 0.0), r.repo_id))


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ago(ts: float | None, now: float) -> str:
    if not ts:
        return "—"
    delta = max(0.0, now - ts)
    for unit, secs in (("d", 86400), ("h", 3600), ("min", 60)):
        if delta >= secs:
            return f"{delta / secs:.0f} {unit} ago"
    return f"{delta:.0f} s ago"


def _table(cls: str, head: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="empty" id="{cls}-empty">{_e(empty)}</p>'
    ths = "".join(f"<th>{_e(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table id="{cls}"><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>'


def _fill_row(f: FillView) -> list[str]:
    pct = f"{100 * f.done / f.size:.0f} %" if f.size else "—"
    return [
        f.repo,
        f.path,
        f"{format_size(f.done)} of {format_size(f.size)}",
        pct,
        format_rate(f.speed),
    ]


def render(stats: ServeStats, info: ServerInfo, repos: list[CachedRepo]) -> str:
    """The page's HTML."""
    now = time.time()
    served = stats.hit_bytes + stats.miss_bytes
    summary = [
        ("hit ratio", f"{100 * stats.hit_ratio():.1f} %"),
        ("bytes served", format_size(served)),
        ("from the cache", format_size(stats.hit_bytes)),
        ("from upstream", format_size(stats.upstream_bytes)),
        ("saved vs upstream", format_size(stats.bytes_saved())),
        ("file responses", f"{stats.responses:,}"),
    ]
    if stats.requests:  # counted only when the app is wrapped in stats.count_requests
        summary.append(("HTTP requests", f"{stats.requests:,}"))
    ladder = [
        ("HF endpoints", " → ".join(info.endpoints) or "none"),
        ("ModelScope", info.modelscope or "off"),
        ("proxy", info.proxy_scope),
        ("mode", "offline: cached repos only" if info.offline else "pull-through"),
        ("cache dir", str(info.cache_dir)),
        ("max size", format_size(info.max_size) if info.max_size else "unbounded"),
        ("pinned", ", ".join(info.pins) or "none"),
    ]
    fills = stats.fills()
    repo_rows = [
        [
            r.repo_id,
            r.kind,
            format_size(r.size),
            str(r.files),
            str(r.revisions),
            _ago(r.last_use, now),
        ]
        for r in repos
    ]
    total = sum(r.size for r in repos)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>kuaidi serve</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}}
h1{{font-size:1.4em}} h2{{font-size:1.1em;margin-top:1.4em}}
table{{border-collapse:collapse}} td,th{{padding:.25em .8em;border-bottom:1px solid #ddd;
text-align:left}} dl{{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}}
dt{{color:#666}} dd{{margin:0;font-weight:600}} .empty{{color:#888}}
</style></head><body>
<h1>kuaidi serve</h1>
<h2>Traffic</h2>
<dl id="summary">{"".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in summary)}</dl>
<h2>Fills in progress ({len(fills)})</h2>
{
        _table(
            "fills",
            ["repo", "file", "progress", "", "speed"],
            [_fill_row(f) for f in fills],
            "no fill is running",
        )
    }
<h2>Cached repos ({len(repos)}, {_e(format_size(total))})</h2>
{
        _table(
            "repos",
            ["repo", "type", "size", "files", "revisions", "last use"],
            repo_rows,
            "the cache is empty",
        )
    }
<h2>Route ladder</h2>
<dl id="ladder">{"".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in ladder)}</dl>
</body></html>
"""


def routes(stats: ServeStats, info: ServerInfo) -> list[Route]:
    """``/`` (the page) and ``/metrics`` (Prometheus text), to mount in the server's app."""

    scanned: list[tuple[float, tuple[int, int], list[CachedRepo]]] = []

    async def page(request: Request) -> Response:
        now = time.monotonic()
        # A fill that landed (or started) since the last scan changed the store: scan again.
        state = (stats.upstream_bytes, stats.fills_ended)
        if scanned and now - scanned[0][0] < SCAN_TTL and scanned[0][1] == state:
            repos = scanned[0][2]
        else:
            # The scan walks the store: off the event loop, so clients keep streaming.
            repos = await asyncio.to_thread(cached_repos, info.cache_dir)
            scanned[:] = [(now, state, repos)]
        return HTMLResponse(render(stats, info, repos), headers={"Cache-Control": "no-store"})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(stats.registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
