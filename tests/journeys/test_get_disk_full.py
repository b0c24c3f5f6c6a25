"""Journey: the model does not fit on the disk the cache is on (AutoDL's 30 GB system disk).

Refused before a byte moves, with the numbers and where to put the cache instead — not a run
that fills the disk to 100 % and leaves the box unusable. The disk is a real 8 MiB tmpfs
(needs root to mount; skipped otherwise — the free-space seam is tested in tests/get).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from tests.journeys.conftest import BIG, base_env, run_kuaidi, tree_digest


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, timeout=30)


def test_disk_full_is_refused_up_front(sim: Sim, home: Path, small_disk: Path) -> None:
    env = base_env(home, sim)
    cache = small_disk / "hub"
    before = tree_digest(small_disk)
    out = run_kuaidi(["get", BIG, "--cache-dir", str(cache)], env)
    assert out.rc == 1, out.stderr
    [line] = out.err_lines
    assert line.startswith(f"kuaidi: error: not enough space in {cache}: 10.0 MiB still to ")
    assert "MiB free" in line and "--cache-dir" in line and out.stdout == ""
    assert sim.log("hf-cdn").requests("*") == []  # not one weight byte was asked for
    assert tree_digest(small_disk) == before  # nothing written: no sparse 10 MiB partial
    # the same through HF_HUB_CACHE: the fix names the variable the user set
    via_env = run_kuaidi(["get", BIG], {**env, "HF_HUB_CACHE": str(cache)})
    assert via_env.rc == 1 and len(via_env.err_lines) == 1 and "HF_HUB_CACHE" in via_env.stderr
