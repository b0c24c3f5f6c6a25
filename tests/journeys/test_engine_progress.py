"""Journey: watching the progress while the CDN stalls (issue 10 #9).

In a terminal (a pty), the speed falls while nothing arrives and a "stalled" note appears;
in a log (a pipe), each status line carries %, speed and ETA, also during the stall.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from kuaidi.sim import Sim
from kuaidi.sim import faults as F
from kuaidi.sim.content import Catalog
from kuaidi.units import MiB
from tests.journeys.conftest import BIG, ROOT, base_env

# 10 MB at 2 MiB/s; the body stalls for 8 s after 3 MiB (then carries on).
SLOW = {"hf-cdn": {"conn_rate": 2 * 1024 * 1024}}
STALL = {"hf-cdn": [F.stall(after="3MiB", seconds=8, path="model.safetensors", times=1)]}
ARGS = ["--modelscope-endpoint", "none", "-n", "1", "--stall-timeout", "30"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _sim(catalog: Catalog) -> Sim:
    return Sim(
        "clean", catalog=catalog, hosts=["hf-mirror", "hf-cdn"], overrides=SLOW, faults=STALL
    )


def test_a_terminal_shows_the_stall_and_a_falling_speed(
    journey_catalog: Catalog, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with _sim(journey_catalog) as sim:
        env = base_env(home, sim) | {"TERM": "xterm", "COLUMNS": "160"}
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "kuaidi", "get", BIG, "--cache-dir", str(tmp_path / "hub"),
             *ARGS],
            env=env, cwd=ROOT, stdin=slave, stdout=slave, stderr=slave,
        )  # fmt: skip
        os.close(slave)
        chunks: list[bytes] = []
        deadline = time.monotonic() + 90
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    try:
                        data = os.read(master, 65536)
                    except OSError:  # the child closed the pty
                        break
                    if not data:
                        break
                    chunks.append(data)
                elif proc.poll() is not None:
                    break
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(master)
    screen = ANSI.sub("", b"".join(chunks).decode(errors="replace"))
    assert "stalled" in screen, screen[-2000:]
    assert re.search(r"\d+/\d+ files", screen)
    scale = {"B": 1 / MiB, "KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}
    speeds = [float(v) * scale[u] for v, u in re.findall(r"([\d.]+) (B|KiB|MiB|GiB)/s", screen)]
    peak = speeds.index(max(speeds))
    assert max(speeds) >= 1.0, speeds
    # After the peak, the speed falls towards 0 while the stall lasts (it never freezes).
    assert any(s <= max(speeds) / 4 for s in speeds[peak:]), speeds


def test_a_log_line_has_percent_speed_and_eta_even_while_stalled(
    journey_catalog: Catalog, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with _sim(journey_catalog) as sim:
        env = base_env(home, sim)
        proc = subprocess.run(
            [sys.executable, "-m", "kuaidi", "get", BIG, "--cache-dir", str(tmp_path / "hub"),
             *ARGS],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    status = [line for line in proc.stderr.splitlines() if re.search(r"B/s, ETA", line)]
    assert status, proc.stderr
    for line in status:
        assert re.search(r"\d+% ", line) and "ETA " in line and " files" in line, line
    assert any("stalled" in line for line in status), proc.stderr
