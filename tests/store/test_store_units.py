"""kuaidi.store helpers without a network."""

from __future__ import annotations

from pathlib import Path


def test_sweep_stale_removes_a_dead_writers_temp_files_only(tmp_path: Path) -> None:
    """Regression: a kill -9 between symlink() and rename() left `.NAME.PID.kuaidi-link` in
    the snapshot for good (huggingface_hub and the next run saw an extra file)."""
    import os
    import subprocess
    import sys

    from kuaidi.store.atomic import sweep_stale

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(dead.stdout)
    snap = tmp_path / "snapshots" / "c0ffee" / "sub"
    snap.mkdir(parents=True)
    stale_link = snap / f".model.safetensors.{dead_pid}.kuaidi-link"
    stale_link.symlink_to("../../blobs/x")
    stale_tmp = tmp_path / "refs" / f".main.abc123.{dead_pid}.kuaidi-tmp"
    stale_tmp.parent.mkdir()
    stale_tmp.write_text("half")
    live = snap / f".config.json.{os.getpid()}.kuaidi-link"
    live.symlink_to("../../blobs/y")
    user_file = snap / ".model.safetensors.kuaidi-notes"  # not ours: no pid
    user_file.write_text("mine")
    removed = sweep_stale(tmp_path)
    assert sorted(removed) == sorted([stale_link, stale_tmp])
    assert live.is_symlink() and user_file.exists()
