"""What ``kuaidi get`` means by its words (issue 10): sizes, counts, flags users know, the
free-space seam, answers of the Hub as errors.py kinds — in-process, against the sim."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import kuaidi
from kuaidi import errors
from kuaidi.cli import main
from kuaidi.cli.get import summary
from kuaidi.get import Result, download, parse_repo, select_files
from kuaidi.model import RemoteFile, RepoRef
from kuaidi.sources.hf import _error
from kuaidi.transfer.job import FileOutcome
from kuaidi.units import format_size, parse_size, plural
from tests.get.conftest import run_cli

TINY = "kuaidi-sim/tiny-model"


def test_one_unit_convention() -> None:
    assert parse_size("1MB") == parse_size("1MiB") == parse_size("1m") == 1 << 20
    assert parse_size("512KiB") == 512 * 1024 and parse_size("600") == 600
    assert format_size(10 * 2**20) == "10.0 MiB" and format_size(512) == "512 B"
    with pytest.raises(errors.UsageError, match="--min-speed 'fast' is not a size"):
        parse_size("fast", what="--min-speed")
    from kuaidi.sim.sizes import format_size as sim_format
    from kuaidi.sim.sizes import parse_size as sim_parse

    assert sim_format is format_size and sim_parse is parse_size  # one module, not two


def test_counts_are_singular_when_one() -> None:
    assert plural(1, "file") == "1 file" and plural(2, "file") == "2 files"
    assert plural(1, "retry", "retries") == "1 retry"
    r = Result("o/m", "model", "main", "c" * 40, "/p", retries=1)
    r.files = [FileOutcome("a", 1, "present")]
    line = summary(r)
    assert line.startswith("ok: 1 file already present (checked by size;") and "1 retry" in line


def test_refs_pr_parses() -> None:
    assert parse_repo("hf://org/m@refs/pr/1")[1:] == ("refs/pr/1", None)
    assert parse_repo("hf://org/m@refs/pr/1/sub/file")[1:] == ("refs/pr/1", "sub/file")
    assert parse_repo("hf://datasets/org/d@refs/convert/parquet/x")[1:] == (
        "refs/convert/parquet",
        "x",
    )
    with pytest.raises(errors.UsageError):
        parse_repo("hf://org/m@refs/pr")


def test_folder_names_select_under_them() -> None:
    fs = [RemoteFile(p, 1, git_sha1="0" * 40) for p in ("data/a", "data/b/c", "data.txt", "x")]
    for name in ("data", "data/"):
        assert [f.path for f in select_files(fs, names=[name])] == ["data/a", "data/b/c"]
    with pytest.raises(errors.EntryNotFound):
        select_files(fs, names=["dat"])
    with pytest.raises(errors.UsageError, match="repeat it"):
        select_files(fs, names=["*.bin"], include=["*.json"])


def test_listing_answers_are_kinds() -> None:
    repo = RepoRef("o/m", "model", "mian")

    def err(status: int, code: str = "", *, token: bool = False) -> errors.KuaidiError:
        headers = {"x-error-code": code} if code else {}
        resp = httpx.Response(status, headers=headers, text='{"error": "x"}')
        return _error(resp, repo, "listing", endpoint="https://m.example", token_sent=token)

    assert isinstance(err(404, "RevisionNotFound"), errors.RevisionNotFound)
    assert isinstance(err(401, "GatedRepo"), errors.GatedRepo)
    assert isinstance(err(404, "RepoNotFound"), errors.RepoNotFound)
    assert isinstance(err(401), errors.RepoNotFound)  # no token: private or absent
    rejected = err(401, token=True)  # "Invalid credentials in Authorization header"
    assert isinstance(rejected, errors.TokenRejected) and "m.example" in str(rejected)
    assert isinstance(err(503), errors.SourceUnavailable)


def test_free_space_seam_refuses_before_any_byte(
    make_sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import kuaidi.store.space as space

    sim = make_sim()
    monkeypatch.setattr(space, "free_bytes", lambda path: 1000)
    with pytest.raises(errors.DiskFull, match=r"still to download, 1000 B free") as info:
        download(TINY, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path / "c")
    assert "--cache-dir" in str(info.value) and info.value.exit_code == 1
    assert sim.log("hf-cdn").requests("*") == [] and not (tmp_path / "c").exists()
    monkeypatch.setattr(space, "free_bytes", lambda path: 10**12)
    assert download(TINY, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path / "c").ok


def test_force_download_in_the_api_replaces_a_bad_blob(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    path = kuaidi.snapshot_download(TINY, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path)
    blob = (Path(path) / "model.safetensors").resolve()
    good = blob.read_bytes()
    blob.write_bytes(b"\0" * len(good))
    again = kuaidi.snapshot_download(
        TINY, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path, force_download=True
    )
    assert again == path and blob.read_bytes() == good


def test_max_workers_and_min_speed_units(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    out = run_cli(
        "get", TINY, "--json", "--max-workers", "2", "--min-speed", "1KiB",
        "--cache-dir", str(tmp_path), "--endpoint", sim.url("hf-mirror"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary_ = json.loads(out.stdout)
    assert summary_["ok"] and summary_["verified"] == 5 and summary_["present"] == 0
    bad = run_cli("get", TINY, "--min-speed", "fast", "--cache-dir", str(tmp_path))
    assert bad.returncode == 2 and "--min-speed 'fast' is not a size" in bad.stderr


def test_failed_files_carry_their_kind_in_json(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kuaidi.sim.content import SIM_TOKEN_NO_ACCESS

    sim = make_sim()
    with pytest.raises(errors.GatedRepo) as info:
        download(
            "kuaidi-sim/gated-model",
            endpoint=sim.url("hf-mirror"),
            cache_dir=tmp_path,
            token=SIM_TOKEN_NO_ACCESS,
        )
    assert "the token has no access" in str(info.value)
    assert not [p for p in tmp_path.rglob("*.kuaidi-part")]  # no sparse partials left
    r = Result("o/m", "model", "main", "c" * 40, "")
    r.files = [FileOutcome("a", 1, "failed", error="HTTP 403", kind="GatedRepo")]
    assert r.to_json()["failed"] == [{"path": "a", "kind": "GatedRepo", "error": "HTTP 403"}]


def test_cache_list_shows_an_interrupted_download(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    blobs = tmp_path / "models--org--m" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / ("a" * 64 + ".kuaidi-part")).write_bytes(b"x" * 5000)
    (blobs / ("b" * 64 + ".incomplete")).write_bytes(b"y" * 3000)
    assert main(["cache", "list", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "Snapshots dir" not in out.err and "huggingface_hub:" not in out.err
    assert "in 2 files" in out.out and "interrupted" in out.out
    assert main(["cache", "list", "--cache-dir", str(tmp_path), "--json"]) == 0
    [repo] = json.loads(capsys.readouterr().out)
    assert repo["partials"] == 2 and repo["complete"] is False
