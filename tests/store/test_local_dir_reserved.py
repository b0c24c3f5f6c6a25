"""A repo file under .cache/huggingface/ must not clobber --local-dir's metadata (issue 10 #19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kuaidi.errors import UnsafeListing
from kuaidi.model import RemoteFile
from kuaidi.store.local_dir import LocalDirTarget
from tests.get.conftest import run_cli
from tests.get.hfserver import HFServer, Repo

OID = "1" * 40


def test_reserved_repo_paths_are_skipped_with_one_warning(tmp_path: Path) -> None:
    local = tmp_path / "out"
    hostile = [
        {"type": "file", "oid": OID, "size": 7, "path": ".cache/huggingface/.gitignore"},
        {"type": "file", "oid": OID, "size": 7, "path": ".cache/huggingface/download/a.metadata"},
    ]
    with HFServer([Repo("org/tiny", {"config.json": b"{}", "a": b"x"})]) as s:
        s.extra_tree["org/tiny"] = hostile
        args = ["get", "org/tiny", "--local-dir", str(local), "--endpoint", s.endpoint]
        out = run_cli(*args, "--modelscope-endpoint", "none", "-q")
        assert not any(".cache" in p for p in s.cdn_log.body_bytes)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kuaidi: warning: skipping"), out.stderr
    assert ".cache/huggingface/.gitignore" in lines[0] and "1 more" in lines[0]
    meta = local / ".cache" / "huggingface"
    assert (meta / ".gitignore").read_text() == "*\n"
    assert (meta / "download" / "a.metadata").read_text().splitlines()[1]  # kuaidi's own
    assert (local / "config.json").read_bytes() == b"{}"


def test_the_target_refuses_a_reserved_path(tmp_path: Path) -> None:
    target = LocalDirTarget(tmp_path, "c" * 40)
    with pytest.raises(UnsafeListing, match="metadata"):
        target.placement(RemoteFile(".cache/huggingface/.gitignore", 2, git_sha1=OID))
