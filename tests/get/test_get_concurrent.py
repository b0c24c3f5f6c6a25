"""Four `kuaidi get` processes on one repo: all verified, each blob downloaded about once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.get.conftest import blob, read_tree
from tests.get.hfserver import HFServer, Repo


def test_four_processes_one_repo(tmp_path: Path) -> None:
    files = {
        "model.safetensors": blob(21, 2_000_000),
        "b.bin": blob(22, 500_000),
        "c.bin": blob(23, 400_000),
        "config.json": b'{"x": 1}',
    }
    with HFServer([Repo("org/shared", files)], rate=3_000_000) as s:
        args = [
            "get",
            "org/shared",
            "--cache-dir",
            str(tmp_path),
            "--endpoint",
            s.endpoint,
            "-q",
            "--connections",
            "4",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "kuaidi", *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = [p.communicate(timeout=120) for p in procs]
        for p, (_, err) in zip(procs, results, strict=True):
            assert p.returncode == 0, err
        snap = (
            tmp_path
            / "models--org--shared"
            / "snapshots"
            / s.repos[("model", "org/shared")].commit()
        )
        assert read_tree(snap) == files
        assert not list((tmp_path / "models--org--shared" / "blobs").glob("*.kuaidi-*"))
        # Blob locks: the big file's bytes were served about once, not four times.
        assert s.cdn_log.body_bytes["model.safetensors"] < 2 * len(files["model.safetensors"])
