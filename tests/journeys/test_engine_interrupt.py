"""Journey: Ctrl-C (or ``kill``) in the middle of a download, then the same command again.

The user sees one line saying how to resume (exit 130), and the rerun says how much it kept:
``resuming: 98.0 MiB already on disk`` (issue 10 #10).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from kuaidi.sim.content import Catalog
from kuaidi.transfer.journal import HEADER_SIZE, RECORD_SIZE
from tests.journeys.conftest import BIG, ROOT, base_env, expected, read_tree, run_kuaidi

SLOW = {"hf-cdn": {"conn_rate": 512 * 1024, "total_rate": 1024 * 1024}}


def _journaled(cache: Path) -> int:
    return sum(
        max(0, j.stat().st_size - HEADER_SIZE) // RECORD_SIZE
        for j in cache.rglob("*.kuaidi-journal")
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_says_how_to_resume_and_the_rerun_says_what_it_kept(
    journey_catalog: Catalog, tmp_path: Path, sig: signal.Signals
) -> None:
    home, cache = tmp_path / "home", tmp_path / "hub"
    home.mkdir()
    with Sim(
        "clean", catalog=journey_catalog, hosts=["hf-mirror", "hf-cdn"], overrides=SLOW
    ) as sim:
        env = base_env(home, sim)
        args = ["get", BIG, "--cache-dir", str(cache), "--modelscope-endpoint", "none", "-n", "4"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "kuaidi", *args],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while _journaled(cache) < 2:  # the journal ticks every second per connection
                assert proc.poll() is None and time.monotonic() < deadline, "no progress"
                time.sleep(0.05)
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines[-1] == "kuaidi: interrupted; rerun the same command to resume", err
        assert "Traceback" not in err and out == ""
        assert not list(cache.glob("models--*/snapshots/*/model.safetensors"))

        rerun = run_kuaidi(args, env)
        assert rerun.rc == 0, rerun.stderr
        said = [line for line in rerun.err_lines if "resuming:" in line]
        assert len(said) == 1, rerun.stderr
        kept = float(
            re.search(r"resuming: ([\d.]+) (?:B|KiB|MiB|GiB) already on disk", said[0]).group(1)
        )  # type: ignore[union-attr]
        assert kept > 0
        snap = Path(rerun.stdout.strip())
        assert read_tree(snap) == expected(sim, BIG)
