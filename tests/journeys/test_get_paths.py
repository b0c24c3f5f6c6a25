"""Journey: a cache or target folder kuaidi cannot write — one line, before any request.

Read-only (a tmpfs mounted ``ro``, as a shared read-only model disk is; needs root, else
skipped), under a regular file (anyone), via --cache-dir, --local-dir or HF_HUB_CACHE.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from tests.journeys.conftest import TINY, base_env, run_kuaidi, tree_digest


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "ro"
    mount.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)],
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


def _refused(out_rc: int, lines: list[str], path: Path, sim: Sim) -> str:
    assert out_rc == 2, lines
    assert len(lines) == 1 and lines[0].startswith("kuaidi: error: "), lines
    assert str(path) in lines[0] and "fix:" in lines[0] and "Traceback" not in lines[0]
    assert len(sim.log("hf-mirror")) == 0  # before any request
    return lines[0]


def test_under_a_regular_file(sim: Sim, home: Path, tmp_path: Path) -> None:
    env = base_env(home, sim)
    blocker = tmp_path / "weights"
    blocker.write_text("not a folder")
    for flag in ("--cache-dir", "--local-dir"):
        target = blocker / "hub"
        for extra in ([], ["--dry-run"]):
            out = run_kuaidi(["get", TINY, flag, str(target), *extra], env)
            line = _refused(out.rc, out.err_lines, target, sim)
            assert "is a file, not a folder" in line
    via_env = run_kuaidi(["get", TINY], {**env, "HF_HUB_CACHE": str(blocker / "hub")})
    assert "HF_HUB_CACHE" in _refused(via_env.rc, via_env.err_lines, blocker / "hub", sim)
    assert blocker.read_text() == "not a folder"


def test_read_only(sim: Sim, home: Path, read_only: Path) -> None:
    env = base_env(home, sim)
    before = tree_digest(read_only)
    for args in (
        ["--cache-dir", str(read_only / "hub")],
        ["--local-dir", str(read_only)],
        ["--cache-dir", str(read_only / "hub"), "--dry-run"],
    ):
        out = run_kuaidi(["get", TINY, *args], env)
        line = _refused(out.rc, out.err_lines, read_only, sim)
        assert "not writable" in line
    via_env = run_kuaidi(["get", TINY], {**env, "HF_HUB_CACHE": str(read_only / "hub")})
    assert "HF_HUB_CACHE" in _refused(via_env.rc, via_env.err_lines, read_only, sim)
    assert tree_digest(read_only) == before


def test_dry_run_creates_no_folder(sim: Sim, home: Path, tmp_path: Path) -> None:
    target = tmp_path / "new" / "hub"
    out = run_kuaidi(["get", TINY, "--cache-dir", str(target), "--dry-run"], base_env(home, sim))
    assert out.rc == 0, out.stderr
    assert not (tmp_path / "new").exists()
