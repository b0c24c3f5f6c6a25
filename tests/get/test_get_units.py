"""Argument parsing, selection and defaults of kuaidi.get (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.get import (
    default_cache_dir,
    default_token,
    parse_repo,
    select_files,
)
from kuaidi.model import RemoteFile


def _f(path: str) -> RemoteFile:
    return RemoteFile(path, 1, git_sha1="0" * 40)


FILES = [
    _f(p) for p in ["README.md", "a.md.bak", "config.json", "vae/x.bin", "vae/sub/y.bin", "w.bin"]
]


def _paths(**kw: object) -> list[str]:
    return [f.path for f in select_files(FILES, **kw)]  # type: ignore[arg-type]


def test_globs_are_anchored_like_huggingface_hub() -> None:
    assert _paths(exclude=["*.md"]) == [p.path for p in FILES if p.path != "README.md"]
    assert _paths(include=["*.bin"]) == ["vae/x.bin", "vae/sub/y.bin", "w.bin"]  # * crosses /
    assert _paths(include=["vae/"]) == ["vae/x.bin", "vae/sub/y.bin"]
    assert _paths(include=["vae/*"], exclude=["vae/sub/"]) == ["vae/x.bin"]
    assert _paths(names=["config.json"], include=["w.*"]) == ["config.json", "w.bin"]
    assert _paths(include=["readme.md"]) == []  # case-sensitive, as hub's fnmatchcase
    with pytest.raises(KuaidiError, match="nope"):
        _paths(names=["nope.txt"])


def test_parse_repo_forms() -> None:
    repo, rev, path = parse_repo("org/name")
    assert (repo.repo_id, repo.repo_type, rev, path) == ("org/name", "model", None, None)
    repo, rev, path = parse_repo("hf://datasets/org/data@v1.0/train/a.parquet")
    assert (repo.repo_id, repo.repo_type, rev, path) == (
        "org/data",
        "dataset",
        "v1.0",
        "train/a.parquet",
    )
    repo, rev, _ = parse_repo("hf://org/m@refs%2Fpr%2F1")
    assert rev == "refs/pr/1"
    for bad in ("a/b/c", "hf://only", ""):
        with pytest.raises(KuaidiError):
            parse_repo(bad)


def _mirrors(env: dict[str, str]) -> tuple[str, ...]:
    """The mirror list ``kuaidi get`` uses with no --endpoint (kuaidi.sources.runsources)."""
    from kuaidi.sources.runsources import SourceConfig

    config = SourceConfig.from_args(
        endpoint=None,
        modelscope_endpoint=None,
        origin=None,
        origin_hosts=(),
        source=None,
        allow_modelscope_only=False,
        environ=env,
    )
    return config.mirrors


def test_defaults_follow_huggingface_hub(tmp_path: Path) -> None:
    env = {"HF_HOME": str(tmp_path)}
    assert default_cache_dir(env) == tmp_path / "hub"
    assert default_cache_dir({**env, "HF_HUB_CACHE": "/x"}) == Path("/x")
    assert _mirrors({"HF_ENDPOINT": "https://hf-mirror.com/"}) == ("https://hf-mirror.com",)
    assert _mirrors({}) == ("https://hf-mirror.com",)  # kuaidi's default; the hub's is the origin
    assert default_token(env) is None
    (tmp_path / "token").write_text("hf_file\n")
    assert default_token(env) == "hf_file"
    assert default_token({**env, "HF_TOKEN": "hf_env"}) == "hf_env"
