"""ServeStats: the counters, the fills table the page reads, /metrics text, own registry."""

from __future__ import annotations

import threading

from prometheus_client import REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from kuaidi.serve.hooks import Stats
from kuaidi.serve.stats import ServeStats, count_requests


def _metrics(stats: ServeStats) -> dict[str, float]:
    out = {}
    for line in generate_latest(stats.registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_hits_misses_ratio_and_saved() -> None:
    stats: Stats = ServeStats()
    fill = stats.fill_started("org/m", "w.bin", 1000)
    fill.progress(600)
    fill.progress(400)
    fill.finished(True)
    stats.served("org/m", 1000, hit=False)  # the first client streamed the fill
    for _ in range(3):
        stats.served("org/m", 1000, hit=True)  # three more from the cache
    assert isinstance(stats, ServeStats)
    assert (stats.hit_bytes, stats.miss_bytes, stats.upstream_bytes) == (3000, 1000, 1000)
    assert stats.hit_ratio() == 0.75
    assert stats.bytes_saved() == 3000
    m = _metrics(stats)
    assert m['kuaidi_serve_served_bytes_total{source="hit"}'] == 3000
    assert m['kuaidi_serve_served_bytes_total{source="miss"}'] == 1000
    assert m["kuaidi_serve_upstream_bytes_total"] == 1000
    assert m["kuaidi_serve_hit_ratio"] == 0.75
    assert m["kuaidi_serve_saved_bytes"] == 3000
    assert m['kuaidi_serve_fills_total{result="ok"}'] == 1
    assert m["kuaidi_serve_fills_in_progress"] == 0
    assert stats.responses == 4
    assert m['kuaidi_serve_file_responses_total{source="hit"}'] == 3


def test_nothing_served_yet() -> None:
    stats = ServeStats()
    assert stats.hit_ratio() == 0.0
    assert stats.bytes_saved() == 0.0
    assert stats.fills() == []


def test_fills_in_progress_with_speed() -> None:
    stats = ServeStats()
    a = stats.fill_started("org/m", "a.bin", 100)
    b = stats.fill_started("org/m", "b.bin", 200)
    a.progress(40)
    views = stats.fills()
    assert [(v.path, v.done, v.size) for v in views] == [("a.bin", 40, 100), ("b.bin", 0, 200)]
    assert views[0].speed >= 0 and views[1].speed == 0
    assert _metrics(stats)["kuaidi_serve_fills_in_progress"] == 2
    a.finished(False)
    a.finished(False)  # counted once
    a.progress(10)  # late bytes after the end are not counted
    assert [v.path for v in stats.fills()] == ["b.bin"]
    m = _metrics(stats)
    assert m['kuaidi_serve_fills_total{result="failed"}'] == 1
    assert m["kuaidi_serve_upstream_bytes_total"] == 40
    b.finished(True)
    assert stats.fills() == []


def test_progress_from_many_threads_adds_up() -> None:
    stats = ServeStats()
    fill = stats.fill_started("org/m", "w.bin", 8 * 1000 * 64)

    def work() -> None:
        for _ in range(1000):
            fill.progress(64)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert stats.fills()[0].done == stats.upstream_bytes == 8 * 1000 * 64


def test_own_registry_never_the_global_one() -> None:
    one, two = ServeStats(), ServeStats()  # a second one does not clash on metric names
    one.served("org/m", 5, hit=True)
    assert two.hit_bytes == 0
    assert _metrics(two).get('kuaidi_serve_served_bytes_total{source="hit"}', 0) == 0
    assert _metrics(one)['kuaidi_serve_served_bytes_total{source="hit"}'] == 5
    assert "kuaidi_serve" not in generate_latest(REGISTRY).decode()


def test_count_requests_counts_responses_by_class() -> None:
    stats = ServeStats()

    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/ok", ok)])
    client = TestClient(count_requests(app, stats))  # type: ignore[arg-type]
    assert client.get("/ok").status_code == 200
    assert client.get("/missing").status_code == 404
    assert stats.requests == 2
    m = _metrics(stats)
    assert m['kuaidi_serve_requests_total{code="2xx"}'] == 1
    assert m['kuaidi_serve_requests_total{code="4xx"}'] == 1
