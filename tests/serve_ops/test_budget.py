"""LruBudget: what goes first, what never goes, and that the order survives a restart."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from kuaidi.serve import budget as budget_mod
from kuaidi.serve.budget import LruBudget, last_use_path
from tests.serve_ops.cachefix import blob_of, make_repo

KB64 = 64 * 1024


def _data(tag: str) -> bytes:
    return (tag.encode() * KB64)[:KB64]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """budget's time.time(), advanced by hand so last-use order is exact."""
    now = [1_000_000.0]
    monkeypatch.setattr(budget_mod.time, "time", lambda: now[0])
    return now


def _three(cache: Path) -> dict[str, Path]:
    return {n: make_repo(cache, f"org/{n}", {"w.bin": _data(n)}) for n in ("a", "b", "c")}


def _touch(b: LruBudget, clock: list[float], *folders: Path) -> None:
    for f in folders:
        clock[0] += 10
        b.touched(f)


def _repos(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name.startswith("models--"))


def test_least_recently_used_goes_first_and_is_logged(
    tmp_path: Path, clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    repos = _three(tmp_path)
    one = LruBudget(tmp_path, 0).size() // 3
    b = LruBudget(tmp_path, int(2.5 * one))
    _touch(b, clock, repos["b"], repos["a"], repos["c"])  # b is the oldest use
    with caplog.at_level(logging.INFO, logger="kuaidi.serve.budget"):
        b.added(0)
    assert _repos(tmp_path) == ["models--org--a", "models--org--c"]
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("evicted model org/b (") and line.endswith(", least recently used)")
    assert b.size() <= b.max_size


def test_under_budget_nothing_goes(tmp_path: Path, clock: list[float]) -> None:
    _three(tmp_path)
    b = LruBudget(tmp_path, 10 * 1024 * 1024)
    b.added(KB64)
    assert len(_repos(tmp_path)) == 3


def test_pinned_repo_is_never_evicted(tmp_path: Path, clock: list[float]) -> None:
    repos = _three(tmp_path)
    one = LruBudget(tmp_path, 0).size() // 3
    b = LruBudget(tmp_path, int(1.5 * one), pins=["org/a", "datasets/org/other"])
    _touch(b, clock, repos["a"], repos["b"], repos["c"])  # a is the oldest, but pinned
    b.added(0)
    assert _repos(tmp_path) == ["models--org--a"]


def test_everything_pinned_stays_over_budget(
    tmp_path: Path, clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    _three(tmp_path)
    b = LruBudget(tmp_path, 1, pins=["org/a", "org/b", "org/c"])
    b.added(0)
    assert len(_repos(tmp_path)) == 3
    assert "pinned or in use" in caplog.text


def test_a_blob_in_use_is_never_evicted(tmp_path: Path, clock: list[float]) -> None:
    """The oldest repo has a held blob: its other revision and that revision's blob go, the
    held blob and the revision linking it stay; then the next-oldest repo goes."""
    a = make_repo(tmp_path, "org/a", {"w.bin": _data("a1")}, commit="1" * 40)
    make_repo(tmp_path, "org/a", {"w.bin": _data("a2")}, commit="2" * 40, ref="v2")
    b_repo = make_repo(tmp_path, "org/b", {"w.bin": _data("b")})
    c_repo = make_repo(tmp_path, "org/c", {"w.bin": _data("c")})
    one = LruBudget(tmp_path, 0).size() // 4  # a blob and its ref
    b = LruBudget(tmp_path, 2 * one)
    _touch(b, clock, a, b_repo, c_repo)
    held = blob_of(a, _data("a1"))
    with b.in_use(held):
        b.added(0)
        assert held.read_bytes() == _data("a1")
        assert (a / "snapshots" / ("1" * 40) / "w.bin").resolve() == held.resolve()
        assert not (a / "snapshots" / ("2" * 40)).exists()
        assert not blob_of(a, _data("a2")).exists()
        assert not (a / "refs" / "v2").exists()
        assert (a / "refs" / "main").read_text() == "1" * 40
        assert _repos(tmp_path) == ["models--org--a", "models--org--c"]
    # Released: the next eviction may take it.
    b.max_size = one
    b.evict()
    assert _repos(tmp_path) == ["models--org--c"]


def test_a_blob_locked_by_another_writer_is_held(tmp_path: Path, clock: list[float]) -> None:
    """A kuaidi get / hub download holding .locks/<repo>/<etag>.lock keeps its repo."""
    import fcntl

    a = make_repo(tmp_path, "org/a", {"w.bin": _data("a")})
    etag = blob_of(a, _data("a")).name
    lock = tmp_path / ".locks" / a.name / f"{etag}.lock"
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        LruBudget(tmp_path, 1).added(0)
        assert blob_of(a, _data("a")).exists()
    finally:
        os.close(fd)
    LruBudget(tmp_path, 1).added(0)
    assert _repos(tmp_path) == []


def test_order_survives_a_restart(tmp_path: Path, clock: list[float]) -> None:
    repos = _three(tmp_path)
    # mtimes say c is the oldest; the recorded uses say a is.
    for i, name in enumerate("cba"):
        os.utime(repos[name], (1000 + i, 1000 + i))
    first = LruBudget(tmp_path, 10**9)
    _touch(first, clock, repos["a"], repos["c"], repos["b"])
    assert last_use_path(tmp_path).is_file()
    one = first.size() // 3
    restarted = LruBudget(tmp_path, int(1.5 * one))
    restarted.added(0)
    assert _repos(tmp_path) == ["models--org--b"]


def test_the_record_does_not_confuse_hub_scan(tmp_path: Path, clock: list[float]) -> None:
    from huggingface_hub import scan_cache_dir

    repos = _three(tmp_path)
    b = LruBudget(tmp_path, LruBudget(tmp_path, 0).size() // 3)
    _touch(b, clock, *repos.values())
    b.added(0)
    info = scan_cache_dir(tmp_path)
    assert info.warnings == []
    assert [r.repo_id for r in info.repos] == ["org/c"]


def test_flush_keeps_the_latest_use(tmp_path: Path, clock: list[float]) -> None:
    repos = _three(tmp_path)
    b = LruBudget(tmp_path, 10**9)
    b.touched(repos["a"])
    clock[0] += 0.1  # within WRITE_EVERY: recorded in memory only
    b.touched(repos["a"])
    assert budget_mod.load_last_use(tmp_path)["models--org--a"] == clock[0] - 0.1
    b.flush()
    assert budget_mod.load_last_use(tmp_path)["models--org--a"] == clock[0]


def test_a_relative_store_still_matches_its_held_blobs(
    tmp_path: Path, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    a = make_repo(Path("hub"), "org/a", {"w.bin": _data("a")})
    b = LruBudget(Path("hub"), 1)
    with b.in_use(blob_of(a, _data("a"))):  # relative, as a server with --cache-dir hub holds it
        b.added(0)
        assert blob_of(a, _data("a")).exists()


def test_what_a_killed_eviction_left_is_cleared_at_start(tmp_path: Path) -> None:
    left = tmp_path / ".locks" / "kuaidi-evicting" / "models--org--x.123" / "blobs"
    left.mkdir(parents=True)
    (left / "big").write_bytes(b"x" * 1000)
    LruBudget(tmp_path, 10**9)
    assert not (tmp_path / ".locks" / "kuaidi-evicting").exists()


def test_concurrent_added_calls_evict_once_each_repo(tmp_path: Path, clock: list[float]) -> None:
    import threading

    repos = _three(tmp_path)
    one = LruBudget(tmp_path, 0).size() // 3
    b = LruBudget(tmp_path, one)
    _touch(b, clock, repos["a"], repos["b"], repos["c"])
    threads = [threading.Thread(target=b.added, args=(0,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert _repos(tmp_path) == ["models--org--c"]
    assert b.size() <= one
