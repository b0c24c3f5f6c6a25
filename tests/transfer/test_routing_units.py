"""Routing decisions without a network: sharing by load and speed, demotion, blame."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kuaidi.model import Placement, RemoteFile, Route
from kuaidi.transfer.routing import Routing
from kuaidi.transfer.scheduler import FileTask
from kuaidi.transfer.watchdog import SpeedFloor

MiB = 1 << 20


def task(size: int, *kinds: str, strong: bool = True) -> FileTask:
    client = httpx.Client()
    routes = [
        Route(f"{k}{i}", f"http://h{i}/f", client, kind=k, strong=strong)
        for i, k in enumerate(kinds)
    ]
    where = Path("/nonexistent")
    placement = Placement(where, where, where, where)
    return FileTask([RemoteFile("f", size, sha256="0" * 64, lfs=True)], placement, routes)


def routing(**kw: int) -> Routing:
    return Routing(share_min=kw.get("share_min", 64 * MiB), route_retries=2)


def test_small_files_use_the_first_route_only() -> None:
    r, t = routing(), task(MiB, "mirror", "modelscope")
    assert [r.pick(t) for _ in range(4)] == [0, 0, 0, 0]


def test_large_files_alternate_between_equal_domestic_sources() -> None:
    r, t = routing(), task(256 * MiB, "mirror", "modelscope", "origin")
    assert [r.pick(t) for _ in range(6)] == [0, 1, 0, 1, 0, 1]  # never the origin


def test_a_faster_source_gets_more_connections() -> None:
    r, t = routing(), task(256 * MiB, "mirror", "modelscope")
    assert (r.pick(t), r.pick(t)) == (0, 1)
    r.release(t, 0, 8 * MiB, 1.0)  # mirror: 8 MiB/s per connection
    r.release(t, 1, 4 * MiB, 1.0)  # modelscope: 4 MiB/s
    picks = [r.pick(t) for _ in range(6)]
    assert picks.count(0) == 4 and picks.count(1) == 2
    assert t.served == {"mirror0": 8 * MiB, "modelscope1": 4 * MiB}


def test_weak_matches_never_share() -> None:
    r, t = routing(), task(256 * MiB, "mirror", "modelscope", strong=False)
    assert {r.pick(t) for _ in range(4)} == {0}


def test_fatal_moves_at_once_and_the_last_route_keeps_going() -> None:
    r, t = routing(), task(MiB, "mirror", "origin")
    assert r.failed(t, 0, "HTTP 404", fatal=True, failures=1, limit=8) == "moved"
    assert r.pick(t) == 1
    assert r.failed(t, 1, "reset", fatal=False, failures=3, limit=8) == "retry"
    assert r.failed(t, 1, "reset", fatal=False, failures=9, limit=8) == "exhausted"
    assert "mirror0: HTTP 404" in Routing.summary(t) and "origin1: reset" in Routing.summary(t)


@pytest.mark.parametrize(("failures", "total"), [(3, 1), (1, 7)])
def test_repeated_failures_move_down(failures: int, total: int) -> None:
    r, t = routing(), task(MiB, "mirror", "modelscope")
    outcomes = [r.failed(t, 0, "reset", fatal=False, failures=failures, limit=8)]
    outcomes += [
        r.failed(t, 0, "reset", fatal=False, failures=1, limit=8) for _ in range(total - 1)
    ]
    assert outcomes[-1] == "moved" and outcomes[:-1] == ["retry"] * (total - 1)


def test_blame_drops_a_lone_culprit_and_pins_a_shared_attempt() -> None:
    r, t = routing(), task(256 * MiB, "mirror", "modelscope")
    t.attempt_routes = {0, 1}
    assert r.blame(t, "sha256") is None and t.pinned == 0  # next attempt: one route
    t.attempt_routes = {0}
    assert r.blame(t, "sha256") == 0 and 0 in t.dead and t.pinned is None
    assert r.pick(t) == 1


def test_speed_floor() -> None:
    SpeedFloor(min_speed=0, window=0.0).feed(0)
    with pytest.raises(Exception, match="too slow"):
        SpeedFloor(min_speed=10**12, window=0.0).feed(1)
