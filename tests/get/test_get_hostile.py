"""A hostile listing (traversal, absolute, backslash, NUL, huge, looping) writes nothing outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.get import download
from tests.get.conftest import read_tree, run_cli
from tests.get.hfserver import HFServer, Repo

OID = "0" * 40


def _snapshot_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",
        "a/../../escape.txt",
        "/tmp/escape.txt",
        "a\\..\\escape.txt",
        "nul\x00.txt",
        "a//b.txt",
        "C:escape.txt",
    ],
)
def test_unsafe_path_refuses_listing_before_any_write(repos, tmp_path: Path, path: str) -> None:  # type: ignore[no-untyped-def]
    cache = tmp_path / "cache"
    with HFServer(repos) as s:
        s.extra_tree["org/tiny"] = [{"type": "file", "oid": OID, "size": 5, "path": path}]
        out = run_cli("get", "org/tiny", "--cache-dir", str(cache), "--endpoint", s.endpoint)
        assert out.returncode == 2
        assert "unsafe file path" in out.stderr
        assert s.cdn_log.body_bytes == {} and s.api_log.body_bytes == {}
    assert not cache.exists() or _snapshot_files(cache) <= {"CACHEDIR.TAG"}
    assert _snapshot_files(tmp_path) <= {"cache", "cache/CACHEDIR.TAG"}


def test_unsafe_path_in_local_dir_mode(repos, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    local = tmp_path / "a" / "b"
    with HFServer(repos) as s:
        s.extra_tree["org/tiny"] = [{"type": "file", "oid": OID, "size": 5, "path": "../../x"}]
        with pytest.raises(KuaidiError, match="unsafe"):
            download("org/tiny", endpoint=s.endpoint, local_dir=local)
    assert not (tmp_path / "x").exists() and not local.exists()


def test_huge_listing_is_paged_and_filtered(tmp_path: Path) -> None:
    many = {f"shard/{i:05d}.txt": b"" for i in range(5000)}
    many["config.json"] = b"{}"
    with HFServer([Repo("org/huge", many)], page_size=1000) as s:
        result = download(
            "org/huge",
            include=["config.json", "shard/0000*"],
            endpoint=s.endpoint,
            cache_dir=tmp_path,
            connections=4,
        )
        assert result.ok and len(result.files) == 11
        assert read_tree(Path(result.path)).keys() == {
            "config.json",
            *(f"shard/0000{i}.txt" for i in range(10)),
        }
        assert len([e for e in s.api_log.entries if "/tree/" in e["path"]]) == 6


def test_looping_pagination_is_an_error_not_a_hang(repos, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with HFServer(repos, page_size=2) as s:
        s.link_loop = True
        with pytest.raises(KuaidiError, match="does not end"):
            download("org/tiny", endpoint=s.endpoint, cache_dir=tmp_path)
        assert s.cdn_log.body_bytes == {}
    assert not (tmp_path / "models--org--tiny").exists()
