"""Byte-exact downloads through the HF protocol, read back by huggingface_hub itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kuaidi.cli import main
from kuaidi.errors import KuaidiError
from kuaidi.get import download
from tests.get.conftest import TOKEN, model_files, read_tree, run_cli
from tests.get.hfserver import HFServer


def _hub_offline(
    cache: Path, repo_id: str, repo_type: str = "model", revision: str = "main"
) -> dict[str, bytes]:
    """Load the snapshot with huggingface_hub in a fresh process, offline."""
    code = (
        "import sys; from huggingface_hub import snapshot_download as s; "
        f"print(s({repo_id!r}, repo_type={repo_type!r}, revision={revision!r}, "
        f"cache_dir={str(cache)!r}, local_files_only=True))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_XET": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    return read_tree(Path(out.stdout.strip()))


@pytest.mark.parametrize("revision", ["main", "v1.0", "commit"])
def test_model_by_revision_byte_exact_and_hub_loads_offline(
    server: HFServer, tmp_path: Path, revision: str
) -> None:
    commit = server.repos[("model", "org/tiny")].commit()
    rev = commit if revision == "commit" else revision
    result = download(
        "org/tiny", revision=rev, endpoint=server.endpoint, cache_dir=tmp_path, connections=4
    )
    assert result.ok and result.commit == commit
    assert read_tree(Path(result.path)) == model_files()
    assert _hub_offline(tmp_path, "org/tiny", revision=rev) == model_files()
    blobs = tmp_path / "models--org--tiny" / "blobs"
    assert not list(blobs.glob("*.kuaidi-*")), "no partials or journals left behind"
    if revision != "commit":
        assert (tmp_path / "models--org--tiny" / "refs" / revision).read_text() == commit


def test_dataset_via_hf_url_and_scan_cache(server: HFServer, tmp_path: Path) -> None:
    from huggingface_hub import scan_cache_dir

    rc = main(
        [
            "get",
            "hf://datasets/org/data",
            "--cache-dir",
            str(tmp_path),
            "--endpoint",
            server.endpoint,
            "-q",
        ]
    )
    assert rc == 0
    files = read_tree(
        tmp_path
        / "datasets--org--data"
        / "snapshots"
        / server.repos[("dataset", "org/data")].commit()
    )
    assert files == server.repos[("dataset", "org/data")].files
    info = scan_cache_dir(tmp_path)
    assert [(r.repo_id, r.repo_type, r.nb_files) for r in info.repos] == [
        ("org/data", "dataset", 2)
    ]
    assert (
        _hub_offline(tmp_path, "org/data", "dataset") == server.repos[("dataset", "org/data")].files
    )


def test_include_exclude_anchored(server: HFServer, tmp_path: Path) -> None:
    result = download(
        "org/tiny",
        include=["*.json", "shards/"],
        exclude=["shards/part-2.bin", "copy-*"],
        endpoint=server.endpoint,
        cache_dir=tmp_path,
    )
    assert result.ok
    assert sorted(read_tree(Path(result.path))) == ["config.json", "shards/part-1.bin"]
    assert "model.safetensors" not in server.cdn_log.body_bytes  # excluded bytes never fetched


def test_gated_needs_token_and_token_stays_on_endpoint(server: HFServer, tmp_path: Path) -> None:
    with pytest.raises(KuaidiError, match=r"gated|not found"):
        download("org/gated", endpoint=server.endpoint, cache_dir=tmp_path, token=False)
    result = download("org/gated", endpoint=server.endpoint, cache_dir=tmp_path, token=TOKEN)
    assert result.ok
    assert read_tree(Path(result.path)) == server.repos[("model", "org/gated")].files
    assert server.api_log.saw_token(TOKEN)
    assert not server.cdn_log.saw_token(TOKEN), "the token must not follow the redirect to the CDN"
    assert server.cdn_log.body_bytes.get("w.safetensors") == 100_000


def test_token_from_env_never_printed(server: HFServer, tmp_path: Path) -> None:
    out = run_cli(
        "get",
        "org/gated",
        "--json",
        "--cache-dir",
        str(tmp_path),
        "--endpoint",
        server.endpoint,
        env={"HF_TOKEN": TOKEN},
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["ok"] and summary["verified"] == 2 and summary["failed"] == []
    assert TOKEN not in out.stdout + out.stderr
    for p in tmp_path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            assert TOKEN.encode() not in p.read_bytes()
    assert not server.cdn_log.saw_token(TOKEN)


def test_local_dir_then_hf_download_fetches_nothing(server: HFServer, tmp_path: Path) -> None:
    local = tmp_path / "out"
    out = run_cli("get", "org/tiny", "--local-dir", str(local), "--endpoint", server.endpoint, "-q")
    assert out.returncode == 0, out.stderr
    assert read_tree(local) == model_files()
    before = dict(server.cdn_log.body_bytes), dict(server.api_log.body_bytes)
    ranges_before = len([e for e in server.cdn_log.entries if e["method"] == "GET"])
    code = (
        "from huggingface_hub import snapshot_download as s; "
        f"s('org/tiny', local_dir={str(local)!r}, endpoint={server.endpoint!r})"
    )
    env = {**os.environ, "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(tmp_path / "hfhome")}
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert r.returncode == 0, r.stderr
    assert (dict(server.cdn_log.body_bytes), dict(server.api_log.body_bytes)) == before
    assert len([e for e in server.cdn_log.entries if e["method"] == "GET"]) == ranges_before
    assert read_tree(local) == model_files()


def test_dry_run_lists_and_downloads_nothing(server: HFServer, tmp_path: Path) -> None:
    out = run_cli(
        "get", "org/tiny", "--dry-run", "--cache-dir", str(tmp_path), "--endpoint", server.endpoint
    )
    assert out.returncode == 0, out.stderr
    assert (
        "model.safetensors" in out.stdout
        and f"{sum(map(len, model_files().values())):,} bytes" in out.stdout
    )
    assert server.cdn_log.body_bytes == {} and server.api_log.body_bytes == {}
    assert not (tmp_path / "models--org--tiny").exists()


def test_second_run_fetches_nothing(server: HFServer, tmp_path: Path) -> None:
    first = download("org/tiny", endpoint=server.endpoint, cache_dir=tmp_path)
    again = download("org/tiny", endpoint=server.endpoint, cache_dir=tmp_path)
    assert first.ok and again.ok and again.bytes_fetched == 0
    assert {f.status for f in again.files} == {"present"}


def test_foreign_link_rewritten_and_pagination(repos, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with HFServer(repos, token=TOKEN, page_size=2, foreign_link=True) as s:
        result = download("org/tiny", endpoint=s.endpoint, cache_dir=tmp_path)
        assert result.ok and read_tree(Path(result.path)) == model_files()
        pages = [e for e in s.api_log.entries if "/tree/" in e["path"]]
        assert len(pages) == 4  # 8 files, 2 per page, every page fetched from our endpoint


def test_bad_input_is_one_line_error(server: HFServer, tmp_path: Path) -> None:
    out = run_cli("get", "org/nope", "--cache-dir", str(tmp_path), "--endpoint", server.endpoint)
    assert (
        out.returncode == 2 and out.stderr.startswith("kuaidi: error:") and "org/nope" in out.stderr
    )
    out = run_cli(
        "get",
        "org/tiny",
        "missing.txt",
        "--cache-dir",
        str(tmp_path),
        "--endpoint",
        server.endpoint,
    )
    assert out.returncode == 2 and "missing.txt" in out.stderr
    out = run_cli(
        "get",
        "org/tiny",
        "--revision",
        "nobranch",
        "--cache-dir",
        str(tmp_path),
        "--endpoint",
        server.endpoint,
    )
    assert out.returncode == 2 and "nobranch" in out.stderr
    assert not (tmp_path / "models--org--nope").exists()
