"""Each sim fault ends verified, or non-zero naming the file; a corrupt file is never accepted."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path

import pytest

from kuaidi.get import SourceOptions, download, engine_options
from kuaidi.sim import faults as F
from tests.get.conftest import expected, read_tree, run_cli

BIG = "kuaidi-test/big"


@pytest.mark.parametrize(
    ("host", "rule"),
    [
        ("hf-cdn", F.stall(after="200KiB", path="model.safetensors", times=1)),
        ("hf-cdn", F.reset(after="300KiB", path="model.safetensors", times=3)),
        ("hf-mirror", F.reset(after=10, path="config.json", times=1)),
        ("hf-cdn", F.corrupt(offset=1_234_567, path="model.safetensors", times=1)),
        ("hf-mirror", F.corrupt(offset=100, path="config.json", times=1)),
        ("hf-cdn", F.status(429, retry_after=1, path="model.safetensors", times=2)),
        ("hf-mirror", F.status(429, retry_after=1, path="/api/*", times=2)),
        ("hf-cdn", F.status(503, times=4)),
        ("hf-mirror", F.status(502, path="*/resolve/*", times=3)),
        ("hf-cdn", F.expire(path="model.safetensors", times=2)),
        ("hf-cdn", F.ignore_range(path="model.safetensors")),
        ("hf-cdn", F.ignore_range(mode="200-with-content-range", path="model.safetensors")),
        ("hf-cdn", F.truncate(after="700KiB", path="model.safetensors", times=2)),
        ("hf-mirror", F.truncate(after=5, path="config.json", times=1)),
    ],
    ids=lambda v: v if isinstance(v, str) else f"{v.kind}-{v.path.strip('/*') or 'all'}",
)
def test_fault_ends_verified(make_sim, tmp_path: Path, host: str, rule: F.FaultRule) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(faults={host: [rule]})
    result = download(
        BIG,
        endpoint=sim.url("hf-mirror"),
        cache_dir=tmp_path,
        engine=engine_options(connections=4, stall_timeout=1.0),
    )
    assert result.ok, result.failed
    assert read_tree(Path(result.path)) == expected(sim, BIG)
    assert sim.host(host).faults.fired_count() >= 1, "the fault should have fired"
    if rule.kind == "ignore_range":  # fell back to one stream rather than one per segment
        assert sim.log("hf-cdn").bytes_sent("*/model.safetensors") <= 2 * 3_000_000


def test_permanent_corruption_fails_naming_the_file(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(faults={"hf-cdn": [F.corrupt(offset=5, path="small.bin")]})
    out = run_cli(
        "get", BIG, "--json", "--cache-dir", str(tmp_path), "--endpoint", sim.url("hf-mirror")
    )
    assert out.returncode == 1
    summary = json.loads(out.stdout)
    assert [f["path"] for f in summary["failed"]] == ["small.bin"]
    assert "verification failed" in summary["failed"][0]["error"]
    snap = (
        Path(summary["path"])
        if summary["path"]
        else next((tmp_path / "models--kuaidi-test--big" / "snapshots").iterdir())
    )
    good = {k: v for k, v in expected(sim, BIG).items() if k != "small.bin"}
    assert read_tree(snap) == good, "the others finish; the corrupt file never appears"
    bad = hashlib.sha256(expected(sim, BIG)["small.bin"]).hexdigest()
    assert not (tmp_path / "models--kuaidi-test--big" / "blobs" / bad).exists()


def test_persistent_5xx_names_file_and_last_error(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(faults={"hf-cdn": [F.status(503, path="small.bin")]})
    out = run_cli(
        "get",
        BIG,
        "--cache-dir",
        str(tmp_path),
        "--endpoint",
        sim.url("hf-mirror"),
        "-q",
        "--max-retries",
        "3",
    )
    assert out.returncode == 1
    assert "small.bin" in out.stderr and "503" in out.stderr
    assert "model.safetensors" not in out.stderr


# -- a third-party mirror that ignores Range: 200, chunked, no Content-Length (defect 1) -----
MIRROR = "kuaidi-test/norange"  # a 4 MiB plain file (served by the mirror) + a 3 MiB LFS file


@pytest.fixture(scope="module")
def norange_catalog(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from kuaidi.sim.content import Catalog, RepoSpec

    spec = RepoSpec(MIRROR, "notes.txt:4MiB,model.safetensors:3MiB", seed=11, revisions=1)
    return Catalog(tmp_path_factory.mktemp("norange"), [spec])


def _norange_sim(catalog, seed: int, *cuts: F.FaultRule):  # type: ignore[no-untyped-def]
    from kuaidi.sim import Sim

    # On the mirror, only the file bodies (its resolve-cache); the listing stays intact.
    mirror = [dataclasses.replace(c, path="/api/resolve-cache/*") for c in cuts]
    faults = {
        "hf-mirror": [F.ignore_range(mode="chunked"), *mirror],
        "hf-cdn": [F.ignore_range(mode="chunked"), *cuts],
    }
    return Sim("clean", catalog=catalog, hosts=["hf-mirror", "hf-cdn"], faults=faults, seed=seed)


def _bounded(fn, seconds: float):  # type: ignore[no-untyped-def]
    """Run ``fn`` in a thread; fail (not hang) when it has not returned in ``seconds``."""
    import threading

    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"the run did not end within {seconds} s"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


@pytest.mark.parametrize("seed", range(20))
def test_a_mirror_that_ignores_range_and_truncates_always_ends(
    norange_catalog, tmp_path: Path, seed: int
) -> None:  # type: ignore[no-untyped-def]
    """Regression (issue 10 #1): against 200 + chunked + no Content-Length bodies that end
    early (half of them, at a seeded point, cleanly or by closing), the run hung: a range
    stolen while its request waited took the file back after the other had taken it over,
    and no segment was left to fetch it. Every run now ends: verified, or naming the file."""
    import random

    rng = random.Random(seed)
    cut = F.truncate(after=rng.randrange(64 << 10, 3 << 20), clean=rng.random() < 0.5, rate=0.5)
    sim = _norange_sim(norange_catalog, seed, cut).start()
    try:
        result = _bounded(
            lambda: download(
                MIRROR,
                endpoint=sim.url("hf-mirror"),
                cache_dir=tmp_path,
                engine=engine_options(connections=8, stall_timeout=2.0, max_retries=6),
                sources=SourceOptions(modelscope_endpoint="none"),
            ),
            120,
        )
        want = expected(sim, MIRROR)
    finally:
        sim.stop()
    if result.ok:
        assert read_tree(Path(result.path)) == want
    else:  # only ever because the bodies kept ending early; the file is named
        assert result.failed
        for f in result.failed:
            assert f.path in want and f.kind == "SourceUnavailable", f


def test_a_mirror_that_always_truncates_fails_naming_the_files(
    norange_catalog, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Every body ends early at 1 MiB: the CLI exits 1 within bounded time, naming both
    files and the real cause, and nothing appears at a final path."""
    sim = _norange_sim(norange_catalog, 0, F.truncate(after="1MiB", clean=True)).start()
    try:
        out = run_cli(
            "get",
            MIRROR,
            "--cache-dir",
            str(tmp_path),
            "--endpoint",
            sim.url("hf-mirror"),
            "--modelscope-endpoint",
            "none",
            "-q",
            "--max-retries",
            "3",
            timeout=120,
        )
        time.sleep(0.2)  # let the sim log the last exchange
        requests = len(sim.log("hf-cdn").entries)
    finally:
        sim.stop()
    assert out.returncode == 1, out.stderr
    assert "notes.txt" in out.stderr and "model.safetensors" in out.stderr
    assert "ended early" in out.stderr
    assert requests <= 3 + 1, "one request per attempt: the file is never fetched twice at once"
    snap = list(tmp_path.glob("models--*/snapshots/*/*"))
    assert not [p for p in snap if p.name in ("notes.txt", "model.safetensors")]


def test_the_sim_serves_a_third_party_mirror_shape(norange_catalog) -> None:  # type: ignore[no-untyped-def]
    """The fault above really is 200 + chunked + no Content-Length, for a ranged GET."""
    import httpx

    sim = _norange_sim(norange_catalog, 0).start()
    try:
        f = sim.catalog.get("model", MIRROR).head.files["notes.txt"]
        url = f"{sim.url('hf-mirror')}/{MIRROR}/resolve/main/notes.txt"
        with httpx.stream(
            "GET", url, headers={"range": "bytes=100-199"}, follow_redirects=True
        ) as resp:
            body = resp.read()
        assert resp.status_code == 200
        assert resp.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in resp.headers
        assert len(body) == f.size
    finally:
        sim.stop()
