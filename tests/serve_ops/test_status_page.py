"""The status page in a real browser (Debian's chromium, headless) against a real uvicorn."""

from __future__ import annotations

import html.parser
import urllib.request
from pathlib import Path

from kuaidi.serve.budget import LruBudget
from kuaidi.serve.stats import ServeStats
from kuaidi.serve.status import ServerInfo, render
from tests.conftest import require_binary
from tests.serve_ops.cachefix import make_repo
from tests.serve_ops.pageserver import chromium, status_server

MiB = 1024 * 1024
GiB = 1024 * MiB


def scene(cache: Path) -> tuple[ServeStats, ServerInfo]:
    """A server mid-day: two cached repos, one fill running, some hits."""
    make_repo(cache, "Qwen/Qwen2.5-0.5B", {"config.json": b"{}", "model.safetensors": b"w" * MiB})
    make_repo(cache, "BAAI/bge-small", {"README.md": b"# bge"}, kind="dataset")
    LruBudget(cache, 10**12).touched(cache / "models--Qwen--Qwen2.5-0.5B")
    stats = ServeStats()
    done = stats.fill_started("Qwen/Qwen2.5-0.5B", "model.safetensors", GiB)
    done.progress(GiB)
    done.finished(True)
    stats.served("Qwen/Qwen2.5-0.5B", GiB, hit=False)
    for _ in range(7):  # seven more lab servers got the same GiB from the cache
        stats.served("Qwen/Qwen2.5-0.5B", GiB, hit=True)
    shard = "model-00001-of-00163.safetensors"
    running = stats.fill_started("deepseek-ai/DeepSeek-R1", shard, 4300 * MiB)
    running.progress(1200 * MiB)
    for code in (200, 200, 206, 404):
        stats.request(code)
    info = ServerInfo(
        endpoints=("https://hf-mirror.com", "https://huggingface.co"),
        modelscope="https://www.modelscope.cn",
        proxy_scope="huggingface.co only, via http://127.0.0.1:3128",
        cache_dir=cache,
        max_size=500 * 1024 * MiB,
        offline=False,
        pins=("Qwen/Qwen2.5-0.5B",),
    )
    return stats, info


class _Text(html.parser.HTMLParser):
    """Text per element id (tables, dls) of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.by_id: dict[str, list[str]] = {}
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        if tag in ("meta", "br", "img", "link"):
            return
        self.stack.append(dict(attrs).get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self.stack and tag not in ("meta", "br", "img", "link"):
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for ident in self.stack:
            if ident and data.strip():
                self.by_id.setdefault(ident, []).append(data.strip())


def test_page_in_chromium(tmp_path: Path) -> None:
    browser = require_binary("chromium")
    stats, info = scene(tmp_path / "hub")
    with status_server(stats, info) as url:
        dom = chromium(browser, url + "/")
        shot = tmp_path / "status.png"
        chromium(browser, url + "/", screenshot=shot)
    page = _Text()
    page.feed(dom)
    assert page.scripts == 0
    repos = " | ".join(page.by_id["repos"])
    assert "Qwen/Qwen2.5-0.5B" in repos and "BAAI/bge-small" in repos
    assert repos.index("Qwen/Qwen2.5-0.5B") < repos.index("BAAI/bge-small")  # last used first
    assert "s ago" in repos
    fills = page.by_id["fills"]
    assert "deepseek-ai/DeepSeek-R1" in fills and "1.2 GiB of 4.2 GiB" in fills
    assert "28 %" in fills
    summary = page.by_id["summary"]
    assert summary[summary.index("hit ratio") + 1] == "87.5 %"
    assert summary[summary.index("file responses") + 1] == "8"
    assert summary[summary.index("HTTP requests") + 1] == "4"
    assert summary[summary.index("saved vs upstream") + 1] == "5.8 GiB"  # 8 served - 2.2 upstream
    ladder = page.by_id["ladder"]
    assert "https://hf-mirror.com → https://huggingface.co" in ladder
    assert "huggingface.co only, via http://127.0.0.1:3128" in ladder
    assert "500.0 GiB" in ladder
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_endpoint(tmp_path: Path) -> None:
    stats, info = scene(tmp_path / "hub")
    with (
        status_server(stats, info) as url,
        urllib.request.urlopen(url + "/metrics", timeout=10) as resp,
    ):
        ctype = resp.headers["Content-Type"]
        text = resp.read().decode()
    assert ctype.startswith("text/plain")
    assert 'kuaidi_serve_served_bytes_total{source="hit"} 7.516192768e+09' in text
    assert "kuaidi_serve_fills_in_progress 1.0" in text
    assert 'kuaidi_serve_requests_total{code="2xx"} 3.0' in text


def test_everything_is_escaped(tmp_path: Path) -> None:
    stats = ServeStats()
    stats.fill_started("org/m", "<script>alert(1)</script>.bin", 10)
    info = ServerInfo(
        endpoints=('http://"><b>x',),
        modelscope=None,
        proxy_scope="<i>none</i>",
        cache_dir=tmp_path,
        max_size=None,
    )
    page = render(stats, info, [])
    assert "<script>" not in page and "<b>x" not in page and "<i>none" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.bin" in page
    assert "the cache is empty" in page and "unbounded" in page


def test_empty_store_page(tmp_path: Path) -> None:
    info = ServerInfo(
        endpoints=(),
        modelscope=None,
        proxy_scope="none",
        cache_dir=tmp_path / "absent",
        max_size=None,
        offline=True,
    )
    page = render(ServeStats(), info, [])
    assert "no fill is running" in page and "offline: cached repos only" in page
    assert "HTTP requests" not in page  # not counted unless the app is wrapped


def test_a_landed_fill_shows_at_once_despite_the_scan_cache(tmp_path: Path) -> None:
    """The page caches one scan for a few seconds, but not across a fill that landed."""
    cache = tmp_path / "hub"
    cache.mkdir()
    stats = ServeStats()
    info = ServerInfo(
        endpoints=(), modelscope=None, proxy_scope="none", cache_dir=cache, max_size=None
    )
    with status_server(stats, info) as url:
        first = urllib.request.urlopen(url + "/", timeout=10).read().decode()
        make_repo(cache, "org/new", {"w.bin": b"w" * 1000})
        fill = stats.fill_started("org/new", "w.bin", 1000)
        fill.progress(1000)
        fill.finished(True)
        second = urllib.request.urlopen(url + "/", timeout=10).read().decode()
    assert "the cache is empty" in first
    assert "org/new" in second
