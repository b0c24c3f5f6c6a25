"""Path safety and the two on-disk layouts, checked against huggingface_hub's own readers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.model import RemoteFile, RepoRef, safe_relpath, unsafe_reason
from kuaidi.store.hf_cache import HFCacheTarget, repo_folder_name
from kuaidi.store.local_dir import LocalDirTarget
from kuaidi.store.paths import join_inside

COMMIT = "a" * 40


@pytest.mark.parametrize(
    "bad",
    ["", "../x", "a/../../x", "/etc/passwd", "a\\b", "a\x00b", "a//b", "./a", "a/.", "C:x", "a/"],
)
def test_unsafe_paths_refused(bad: str, tmp_path: Path) -> None:
    assert unsafe_reason(bad) is not None
    with pytest.raises(KuaidiError):
        safe_relpath(bad)
    with pytest.raises(KuaidiError):
        join_inside(tmp_path, bad)


@pytest.mark.parametrize(
    "good", ["a", "a/b.json", ".gitattributes", "x..y", "..a/b", "中文/权重.bin"]
)
def test_safe_paths_accepted(good: str) -> None:
    assert safe_relpath(good) == good


def test_symlinked_dir_inside_target_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "sub").symlink_to(outside)
    with pytest.raises(KuaidiError):
        join_inside(root, "sub/x")


def test_hf_cache_layout_is_what_hub_reads(tmp_path: Path) -> None:
    from huggingface_hub import scan_cache_dir, snapshot_download

    repo = RepoRef("org/name", "model", "main")
    assert repo_folder_name(repo) == "models--org--name"
    t = HFCacheTarget(tmp_path, repo, COMMIT)
    t.prepare()
    f = RemoteFile("sub/dir/w.bin", 3, sha256="b" * 64, lfs=True)
    part = t.placement(f).part
    part.write_bytes(b"abc")
    t.install(f, part)
    from kuaidi.model import Listing

    snap = t.finish(Listing(repo, COMMIT, [f]), {f.path: {"size": 3, "blob_id": "c" * 40}})
    link = snap / "sub" / "dir" / "w.bin"
    assert os.readlink(link) == "../../../../blobs/" + "b" * 64
    assert link.read_bytes() == b"abc"
    assert (tmp_path / "models--org--name" / "refs" / "main").read_text() == COMMIT
    got = snapshot_download("org/name", cache_dir=tmp_path, local_files_only=True)
    assert Path(got) == snap
    info = scan_cache_dir(tmp_path)
    assert [r.repo_id for r in info.repos] == ["org/name"]
    assert info.warnings == []


def test_local_dir_metadata_is_what_hub_reads(tmp_path: Path) -> None:
    from huggingface_hub._local_folder import read_download_metadata

    t = LocalDirTarget(tmp_path, COMMIT)
    t.prepare()
    f = RemoteFile("a/b.txt", 2, git_sha1="d" * 40)
    part = t.placement(f).part
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"hi")
    t.install(f, part)
    assert (tmp_path / "a" / "b.txt").read_bytes() == b"hi"
    meta = read_download_metadata(tmp_path, "a/b.txt")
    assert meta is not None and meta.commit_hash == COMMIT and meta.etag == "d" * 40
    assert t.is_present(f)
    assert not list(tmp_path.rglob("*.kuaidi-part"))
