"""SIGKILL at deterministic points, rerun: always verified, re-fetch bounded by in-flight bytes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kuaidi.transfer.journal import Journal
from tests.get.conftest import blob, read_tree, run_cli
from tests.get.hfserver import HFServer, Repo

SIZE = 3_000_000
CONNS = 3
JOURNAL_EVERY = 256 * 1024
# What a kill may cost: per connection, bytes received since its last journal record, plus what
# the server had written into socket buffers and the client's chunk in hand.
BOUND = CONNS * (JOURNAL_EVERY + 1024 * 1024)


def _files() -> dict[str, bytes]:
    return {
        "model.safetensors": blob(11, SIZE),
        "small.bin": blob(12, 300_000),
        "config.json": b"{}",
    }


def _served(s: HFServer) -> int:
    return sum(s.cdn_log.body_bytes.values()) + sum(s.api_log.body_bytes.values())


@pytest.mark.parametrize("kill_at", [150_000, 700_000, 1_500_000, 2_400_000, 3_250_000])
def test_sigkill_then_rerun_ends_verified_and_bounded(tmp_path: Path, kill_at: int) -> None:
    files = _files()
    total = sum(map(len, files.values()))
    with HFServer([Repo("org/big", files)], rate=2_000_000) as s:
        args = [
            "get",
            "org/big",
            "--cache-dir",
            str(tmp_path),
            "--endpoint",
            s.endpoint,
            "-q",
            "--connections",
            str(CONNS),
            "--journal-every",
            str(JOURNAL_EVERY),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "kuaidi", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while _served(s) < min(kill_at, total) and proc.poll() is None:
                assert time.monotonic() < deadline, "download did not progress"
                time.sleep(0.005)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        first = _served(s)
        snap = tmp_path / "models--org--big" / "snapshots" / s.repos[("model", "org/big")].commit()
        for p in snap.rglob("*"):  # whatever is visible after a kill is complete and correct
            if p.is_file():
                assert p.read_bytes() == files[p.relative_to(snap).as_posix()]
        s.rate = None
        out = run_cli(*args)
        assert out.returncode == 0, out.stderr
        assert read_tree(snap) == files
        refetched = _served(s) + first - total
        assert refetched <= BOUND, f"re-fetched {refetched} bytes after a kill at {first}"


def test_torn_journal_tail_refetches_only_unrecorded(tmp_path: Path) -> None:
    """A journal whose last record is torn: the rerun fetches those bytes again, verified."""
    files = _files()
    with HFServer([Repo("org/big", files)], rate=2_000_000) as s:
        args = [
            "get",
            "org/big",
            "model.safetensors",
            "--cache-dir",
            str(tmp_path),
            "--endpoint",
            s.endpoint,
            "-q",
            "--connections",
            "1",
            "--journal-every",
            str(JOURNAL_EVERY),
        ]
        proc = subprocess.Popen(
            [sys.executable, "-m", "kuaidi", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while _served(s) < 1_200_000 and proc.poll() is None:
                time.sleep(0.005)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        journal = next((tmp_path / "models--org--big" / "blobs").glob("*.kuaidi-journal"))
        data = journal.read_bytes()
        journal.write_bytes(data[:-7])  # tear the last record
        vouched = Journal.load(journal, SIZE)
        assert vouched and vouched[0][0] == 0
        end = vouched[-1][1]
        part = next((tmp_path / "models--org--big" / "blobs").glob("*.kuaidi-part"))
        with open(part, "r+b") as f:  # scribble right past what the journal still vouches for
            f.seek(end)
            f.write(b"\xff" * 1000)
        s.rate = None
        out = run_cli(*args, "--json")
        assert out.returncode == 0, out.stderr
        summary = json.loads(out.stdout)
        assert summary["retries"] == 0  # no verification failure: unvouched bytes were refetched
        assert summary["bytes_fetched"] == SIZE - sum(b - a for a, b in vouched)
        snap = tmp_path / "models--org--big" / "snapshots" / s.repos[("model", "org/big")].commit()
        assert (snap / "model.safetensors").read_bytes() == files["model.safetensors"]
