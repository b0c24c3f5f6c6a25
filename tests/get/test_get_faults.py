"""Every fault ends verified, or with a non-zero exit naming the file — never a corrupt file."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.get import download
from tests.get.conftest import model_files, read_tree, run_cli
from tests.get.hfserver import Fault, HFServer

BIG = "model.safetensors"


@pytest.mark.parametrize(
    "fault",
    [
        Fault("stall", BIG, after=200_000, seconds=20),
        Fault("reset", BIG, after=300_000, times=3),
        Fault("reset", "config.json", after=3),
        Fault("corrupt", BIG, after=1_234_567),
        Fault("corrupt", "tokenizer/vocab.txt", after=10),
        Fault("429", "*", seconds=1, times=2),
        Fault("503", "*", times=4),
        Fault("expire", BIG, times=2),
        Fault("norange", BIG, times=50),
        Fault("truncate", BIG, after=700_000, times=2),
        Fault("truncate", "README.md", after=2),
    ],
    ids=lambda f: f"{f.kind}-{f.path.split('/')[-1]}",
)
def test_fault_recovered_and_verified(server: HFServer, tmp_path: Path, fault: Fault) -> None:
    server.faults.append(fault)
    result = download(
        "org/tiny", endpoint=server.endpoint, cache_dir=tmp_path, connections=4, stall_timeout=1.0
    )
    assert result.ok, result.failed
    assert read_tree(Path(result.path)) == model_files()
    if fault.kind == "norange":  # one stream, not one per segment
        assert result.bytes_fetched <= 2 * sum(map(len, model_files().values()))
    else:
        assert result.retries >= 1 and fault.times == 0, "the fault should have fired"


def test_unrecoverable_corruption_fails_naming_the_file(server: HFServer, tmp_path: Path) -> None:
    server.faults.append(Fault("corrupt", "shards/part-1.bin", after=5, times=99))
    out = run_cli(
        "get", "org/tiny", "--json", "--cache-dir", str(tmp_path), "--endpoint", server.endpoint
    )
    assert out.returncode == 1
    assert '"path": "shards/part-1.bin"' in out.stdout and "verification failed" in out.stdout
    snap = next((tmp_path / "models--org--tiny" / "snapshots").iterdir())
    assert not (snap / "shards" / "part-1.bin").exists(), "a corrupt file never reaches its path"
    got = read_tree(snap)
    assert got == {k: v for k, v in model_files().items() if k != "shards/part-1.bin"}, (
        "others finish"
    )
    blobs = tmp_path / "models--org--tiny" / "blobs"
    bad = hashlib.sha256(model_files()["shards/part-1.bin"]).hexdigest()
    assert not (blobs / bad).exists()


def test_persistent_5xx_fails_one_file_the_rest_finish(server: HFServer, tmp_path: Path) -> None:
    server.faults.append(Fault("503", "shards/part-2.bin", times=10_000))
    out = run_cli(
        "get",
        "org/tiny",
        "--cache-dir",
        str(tmp_path),
        "--endpoint",
        server.endpoint,
        "--quiet",
        "--max-retries",
        "3",
    )
    assert out.returncode == 1
    assert "shards/part-2.bin" in out.stderr and "HTTP 503" in out.stderr
    snap = next((tmp_path / "models--org--tiny" / "snapshots").iterdir())
    assert set(read_tree(snap)) == set(model_files()) - {"shards/part-2.bin"}


def test_disk_full_keeps_partial_and_resumes(
    server: HFServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.pwrite
    written = {"n": 0}

    def full_after_1mb(fd: int, data: bytes, offset: int) -> int:
        if written["n"] > 1_000_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        written["n"] += len(data)
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", full_after_1mb)
    with pytest.raises(KuaidiError, match="disk full") as exc:
        download(
            "org/tiny", include=[BIG], endpoint=server.endpoint, cache_dir=tmp_path, connections=1
        )
    assert exc.value.exit_code == 1
    blobs = tmp_path / "models--org--tiny" / "blobs"
    assert list(blobs.glob("*.kuaidi-part")) and list(blobs.glob("*.kuaidi-journal"))
    monkeypatch.setattr(os, "pwrite", real)
    served = sum(server.cdn_log.body_bytes.values())
    result = download(
        "org/tiny", include=[BIG], endpoint=server.endpoint, cache_dir=tmp_path, connections=1
    )
    assert result.ok and read_tree(Path(result.path)) == {BIG: model_files()[BIG]}
    assert result.bytes_fetched < len(model_files()[BIG]) - 900_000  # resumed, not restarted
    assert sum(server.cdn_log.body_bytes.values()) - served == result.bytes_fetched
