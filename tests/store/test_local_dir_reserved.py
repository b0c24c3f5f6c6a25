"""A repo file under .cache/huggingface/ must not clobber --local-dir's metadata (issue 10 #19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kuaidi.errors import UnsafeListing
from kuaidi.model import RemoteFile
from kuaidi.store.local_dir import LocalDirTarget
from tests.get.conftest import run_cli

OID = "1" * 40
TINY = "kuaidi-sim/tiny-model"
META = ".cache/huggingface"


def test_reserved_repo_paths_are_skipped_with_one_warning(sim_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    local = tmp_path / "out"
    hostile = [
        {"type": "file", "oid": OID, "size": 7, "path": f"{META}/.gitignore"},
        {
            "type": "file",
            "oid": OID,
            "size": 7,
            "path": ".cache/huggingface/download/config.json.metadata",
        },
    ]
    opts = {"extra_tree": {TINY: hostile}}
    sim = sim_factory(hosts=["hf-mirror", "hf-cdn"], overrides={"hf-mirror": {"options": opts}})
    args = ["get", TINY, "--local-dir", str(local), "--endpoint", sim.url("hf-mirror")]
    out = run_cli(*args, "--modelscope-endpoint", "none", "-q")
    served = [e.path for h in ("hf-mirror", "hf-cdn") for e in sim.log(h).entries]
    assert not any(".cache" in p for p in served)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kuaidi: warning: skipping"), out.stderr
    assert ".cache/huggingface/.gitignore" in lines[0] and "1 more" in lines[0]
    meta = local / ".cache" / "huggingface"
    assert (meta / ".gitignore").read_text() == "*\n"
    assert (meta / "download" / "config.json.metadata").read_text().splitlines()[1]  # kuaidi's own
    config = sim.catalog.get("model", TINY).head.files["config.json"]
    assert (local / "config.json").read_bytes() == config.blob_path.read_bytes()


def test_the_target_refuses_a_reserved_path(tmp_path: Path) -> None:
    target = LocalDirTarget(tmp_path, "c" * 40)
    with pytest.raises(UnsafeListing, match="metadata"):
        target.placement(RemoteFile(".cache/huggingface/.gitignore", 2, git_sha1=OID))
