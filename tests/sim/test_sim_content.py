"""Content: size specs, determinism, hashes, LFS rule, revisions, local dirs, ModelScope ids."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.sim.content import (
    DEFAULT_REPOS,
    Catalog,
    RepoSpec,
    git_blob_sha1,
    is_lfs,
    parse_files,
)
from kuaidi.sim.sizes import parse_size


def test_parse_files_units_and_presets():
    assert parse_files("config.json:1KB,model.safetensors:64MB") == [
        ("config.json", 1024),
        ("model.safetensors", 64 * 1024 * 1024),
    ]
    assert parse_files("a/b.bin:1.5KiB") == [("a/b.bin", 1536)]
    assert ("model.safetensors", 65536) in parse_files("tiny")
    assert parse_size("600B") == 600
    assert parse_size(7) == 7


@pytest.mark.parametrize("bad", ["config.json", "config.json:12XB", ":1KB", "../x:1KB", "/a:1KB"])
def test_parse_files_names_the_bad_token(bad):
    with pytest.raises(KuaidiError) as info:
        parse_files(f"ok.json:1KB,{bad}")
    assert repr(bad) in str(info.value)
    assert "tiny" in str(info.value)  # the fix lists presets


def test_lfs_rule():
    assert is_lfs("model.safetensors", 10)
    assert is_lfs("weights/x.bin", 10)
    assert is_lfs("big.json", 10 * 1024 * 1024)
    assert not is_lfs("config.json", 9 * 1024 * 1024)


def test_same_seed_same_bytes_and_hashes_are_true(tmp_path):
    spec = RepoSpec("org/a", "config.json:700B,model.safetensors:40KB,notes.txt:100B", seed=5)
    one = Catalog(tmp_path / "one", [spec]).get("model", "org/a")
    two = Catalog(tmp_path / "two", [spec]).get("model", "org/a")
    assert one is not None and two is not None
    assert one.head.sha == two.head.sha and len(one.head.sha) == 40
    for path, f in one.head.files.items():
        data = f.blob_path.read_bytes()
        assert data == two.head.files[path].blob_path.read_bytes()
        assert len(data) == f.size
        assert hashlib.sha256(data).hexdigest() == f.sha256
        assert git_blob_sha1(data) == f.git_sha1
    other = Catalog(tmp_path / "three", [RepoSpec("org/a", spec.files, seed=6)]).get(
        "model", "org/a"
    )
    assert other is not None and other.head.sha != one.head.sha


def test_git_blob_sha1_matches_git():
    assert git_blob_sha1(b"Hello, World!") == "b45ef6fec89518d314f546fd6c3025367b721684"
    if shutil.which("git"):
        out = subprocess.run(
            ["git", "hash-object", "--stdin"], input=b"abc\n", capture_output=True, check=True
        )
        assert git_blob_sha1(b"abc\n") == out.stdout.decode().strip()


def test_generated_files_are_valid_json_and_safetensors(tmp_path):
    repo = Catalog(tmp_path, [RepoSpec("org/a", "tiny")]).get("model", "org/a")
    assert repo is not None
    files = repo.head.files
    assert json.loads(files["config.json"].blob_path.read_bytes())["repo"] == "org/a"
    data = files["model.safetensors"].blob_path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    _start, end = header["weight"]["data_offsets"]
    assert 8 + n + end == len(data) == files["model.safetensors"].size
    assert files["model.safetensors"].lfs and not files["config.json"].lfs
    assert files[".gitattributes"].blob_path.read_bytes().startswith(b"*.")


def test_revisions_refs_and_stale(tmp_path):
    repo = Catalog(tmp_path, [RepoSpec("org/a", "tiny", revisions=3)]).get("model", "org/a")
    assert repo is not None
    old, mid, new = repo.commits
    assert repo.resolve("main") is new and repo.resolve("v1.0") is old
    assert repo.resolve("refs/pr/1") is old
    assert repo.resolve(mid.sha) is mid
    assert repo.resolve("main", stale=1) is mid
    assert repo.resolve("nope") is None
    # small files change per commit, LFS bytes stay
    assert old.files["config.json"].sha256 != new.files["config.json"].sha256
    assert old.files["model.safetensors"].sha256 == new.files["model.safetensors"].sha256


def test_catalog_lookups(tmp_path):
    cat = Catalog(tmp_path, DEFAULT_REPOS)
    assert cat.get("dataset", "kuaidi-sim/tiny-dataset") is not None
    assert cat.get("model", "kuaidi-sim/tiny-dataset") is None
    assert cat.renamed("model", "kuaidi-sim/old-tiny-model") == "kuaidi-sim/tiny-model"
    llama = cat.modelscope("model", "LLM-Research/Llama-Sim-1B")
    assert llama is cat.get("model", "meta-llama/Llama-Sim-1B")
    qwen_hf = cat.get("model", "Qwen/Qwen-Sim-0.5B")
    qwen_ms = cat.modelscope("model", "Qwen/Qwen-Sim-0.5B")
    assert qwen_hf is not None and qwen_ms is not None and qwen_ms.variant_of is qwen_hf
    f_hf, f_ms = qwen_hf.head.files["model.safetensors"], qwen_ms.head.files["model.safetensors"]
    assert f_hf.size == f_ms.size and f_hf.sha256 != f_ms.sha256
    assert cat.blob(f_ms.sha256) is not None and cat.blob(f_hf.sha256) is not None


def test_serve_a_real_directory(tmp_path):
    src = tmp_path / "mymodel"
    (src / "sub").mkdir(parents=True)
    (src / "config.json").write_text('{"a": 1}')
    (src / "sub" / "w.bin").write_bytes(b"\x00" * 100)
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("x")
    repo = Catalog(tmp_path / "c", [RepoSpec.from_dir(src, "me/mymodel")]).get(
        "model", "me/mymodel"
    )
    assert repo is not None
    assert sorted(repo.head.files) == ["config.json", "sub/w.bin"]
    f = repo.head.files["sub/w.bin"]
    assert f.lfs and f.blob_path == (src / "sub" / "w.bin").resolve()
    assert f.sha256 == hashlib.sha256(b"\x00" * 100).hexdigest()
    with pytest.raises(KuaidiError):
        RepoSpec.from_dir(tmp_path / "missing", "me/x")


def test_content_is_generated_once(tmp_path):
    spec = RepoSpec("org/a", "model.safetensors:8KB")
    f = Catalog(tmp_path, [spec]).get("model", "org/a").head.files["model.safetensors"]  # type: ignore[union-attr]
    mtime = f.blob_path.stat().st_mtime_ns
    Catalog(tmp_path, [spec])
    assert f.blob_path.stat().st_mtime_ns == mtime
    assert (
        Path(str(f.blob_path) + ".json").exists()
        or f.blob_path.with_name(f.blob_path.name + ".json").exists()
    )
