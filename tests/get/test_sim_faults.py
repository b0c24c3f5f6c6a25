"""Each sim fault ends verified, or non-zero naming the file; a corrupt file is never accepted."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kuaidi.get import download
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
        BIG, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path, connections=4, stall_timeout=1.0
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
