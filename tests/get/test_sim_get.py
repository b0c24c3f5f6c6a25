"""Acceptance against kuaidi.sim: byte-exact, read back by huggingface_hub, token scope."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.get import SourceOptions, download, engine_options
from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN, SIM_TOKEN_NO_ACCESS
from tests.get.conftest import expected, read_tree, run_cli

TINY = "kuaidi-sim/tiny-model"


def _hub_offline(
    cache: Path,
    repo_id: str,
    repo_type: str = "model",
    revision: str = "main",
    python: str = sys.executable,
) -> dict[str, bytes]:
    code = (
        "from huggingface_hub import snapshot_download as s; "
        f"print(s({repo_id!r}, repo_type={repo_type!r}, revision={revision!r}, "
        f"cache_dir={str(cache)!r}, local_files_only=True))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_XET": "1"}
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    return read_tree(Path(out.stdout.strip()))


@pytest.mark.parametrize("revision", ["main", "v1.0", "refs/pr/1", "oldest-commit"])
def test_revisions_byte_exact_and_hub_loads_offline(
    make_sim, tmp_path: Path, revision: str
) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim("cn-link")
    repo = sim.catalog.get("model", TINY)
    rev = repo.commits[0].sha if revision == "oldest-commit" else revision
    result = download(TINY, revision=rev, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path)
    assert result.ok, result.failed
    assert result.commit == repo.resolve(rev).sha
    assert read_tree(Path(result.path)) == expected(sim, TINY, rev)
    assert _hub_offline(tmp_path, TINY, revision=rev) == expected(sim, TINY, rev)
    if revision != "oldest-commit":
        ref = tmp_path / "models--kuaidi-sim--tiny-model" / "refs" / revision
        assert ref.read_text() == result.commit


def test_dataset_and_nested_model_and_hf_cache_scan(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from huggingface_hub import scan_cache_dir

    sim = make_sim()
    ep = sim.url("hf-mirror")
    assert (
        main_rc(
            "get",
            "hf://datasets/kuaidi-sim/tiny-dataset",
            "--cache-dir",
            str(tmp_path),
            "--endpoint",
            ep,
        )
        == 0
    )
    assert (
        main_rc("get", "kuaidi-sim/nested-model", "--cache-dir", str(tmp_path), "--endpoint", ep)
        == 0
    )
    ds = "kuaidi-sim/tiny-dataset"
    assert _hub_offline(tmp_path, ds, "dataset") == expected(sim, ds, repo_type="dataset")
    assert _hub_offline(tmp_path, "kuaidi-sim/nested-model") == expected(
        sim, "kuaidi-sim/nested-model"
    )
    info = scan_cache_dir(tmp_path)
    assert sorted((r.repo_type, r.repo_id) for r in info.repos) == [
        ("dataset", ds),
        ("model", "kuaidi-sim/nested-model"),
    ]
    assert info.warnings == []


def main_rc(*args: str) -> int:
    from kuaidi.cli import main

    return main([*args, "-q"])


def test_include_exclude_on_nested(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    result = download(
        "kuaidi-sim/nested-model",
        include=["*.json", "vae/"],
        exclude=["vae/config.json"],
        endpoint=sim.url("hf-mirror"),
        cache_dir=tmp_path,
    )
    assert result.ok
    assert sorted(read_tree(Path(result.path))) == [
        "config.json",
        "unet/config.json",
        "vae/diffusion_model.safetensors",
    ]
    assert sim.log("hf-cdn").bytes_sent("*/unet/*") == 0
    assert sim.log("hf-cdn").bytes_sent("*/diffusion_model.safetensors") == 48 * 1024


def test_gated_token_only_to_endpoint(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    gated = "kuaidi-sim/gated-model"
    with pytest.raises(KuaidiError, match="gated"):
        download(gated, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path, token=False)
    with pytest.raises(KuaidiError):
        download(
            gated, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path, token=SIM_TOKEN_NO_ACCESS
        )
    out = run_cli(
        "get",
        gated,
        "--json",
        "--cache-dir",
        str(tmp_path),
        "--endpoint",
        sim.url("hf-mirror"),
        env={"HF_TOKEN": SIM_TOKEN},
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert (
        summary["ok"] and summary["failed"] == [] and summary["verified"] == len(summary["files"])
    )
    assert read_tree(Path(summary["path"])) == expected(sim, gated)
    assert SIM_TOKEN not in out.stdout + out.stderr
    assert sim.log("hf-mirror").saw_token(SIM_TOKEN)
    assert not sim.log("hf-cdn").saw_token(SIM_TOKEN), sim.log("hf-cdn").dump()
    for p in tmp_path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            assert SIM_TOKEN.encode() not in p.read_bytes()


def test_local_dir_then_hf_download_fetches_nothing(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    local = tmp_path / "out"
    out = run_cli("get", TINY, "--local-dir", str(local), "--endpoint", sim.url("hf-mirror"), "-q")
    assert out.returncode == 0, out.stderr
    assert read_tree(local) == expected(sim, TINY)
    cdn_before, mirror_before = (
        len(sim.log("hf-cdn")),
        sim.log("hf-mirror").bytes_sent("*/resolve*"),
    )
    n_mirror = len(sim.log("hf-mirror"))
    env = {
        **os.environ,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(tmp_path / "hfhome"),
        "HF_ENDPOINT": sim.url("hf-mirror"),
    }
    hf = str(Path(sys.executable).with_name("hf"))
    r = subprocess.run(
        [hf, "download", TINY, "--local-dir", str(local)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert len(sim.log("hf-cdn")) == cdn_before, "hf fetched file bytes again"
    assert sim.log("hf-mirror").bytes_sent("*/resolve*") == mirror_before
    new = sim.log("hf-mirror").entries[n_mirror:]
    assert not [e.path for e in new if "resolve" in e.path and e.method == "GET"], "no file GETs"
    assert read_tree(local) == expected(sim, TINY)


def test_foreign_link_host_rewritten(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(
        hosts=["hf-mirror", "hf-cdn", "origin", "origin-cdn"],
        overrides={"hf-mirror": {"options": {"page_size": 2, "link_host": "origin"}}},
    )
    result = download(TINY, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path)
    assert result.ok and read_tree(Path(result.path)) == expected(sim, TINY)
    assert len(sim.log("hf-mirror").requests("*/tree/*")) >= 3
    assert len(sim.log("origin")) == 0, "page 2 must not go to the foreign host"


def test_flaky_profile_ends_verified(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim("flaky", seed=3)
    result = download(
        "kuaidi-test/big",
        endpoint=sim.url("hf-mirror"),
        cache_dir=tmp_path,
        engine=engine_options(stall_timeout=1.0, connections=4),
    )
    assert result.ok, result.failed
    assert read_tree(Path(result.path)) == expected(sim, "kuaidi-test/big")


def test_dry_run_and_second_run(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    out = run_cli(
        "get", TINY, "--dry-run", "--cache-dir", str(tmp_path), "--endpoint", sim.url("hf-mirror")
    )
    assert out.returncode == 0 and "model.safetensors" in out.stdout
    total = sum(map(len, expected(sim, TINY).values()))
    assert f"{total:,} bytes" in out.stdout
    assert (
        sim.log("hf-cdn").bytes_sent() == 0
        and not (tmp_path / "models--kuaidi-sim--tiny-model").exists()
    )
    first = download(TINY, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path)
    again = download(TINY, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path)
    assert first.ok and again.ok and again.bytes_fetched == 0


def test_old_huggingface_hub_reads_the_cache_offline(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """huggingface_hub 0.26 (still common on CN images) sees kuaidi's cache as its own."""
    old = os.environ.get("KUAIDI_HF0_PYTHON") or str(
        Path(__file__).resolve().parents[2] / ".venv-hf0/bin/python"
    )
    if not Path(old).exists():
        pytest.skip("no huggingface_hub 0.26 venv (make test builds it)")
    sim = make_sim()
    result = download("kuaidi-sim/nested-model", endpoint=sim.url("hf-mirror"), cache_dir=tmp_path)
    assert result.ok
    got = _hub_offline(tmp_path, "kuaidi-sim/nested-model", python=old)
    assert got == expected(sim, "kuaidi-sim/nested-model")


def test_plain_progress_when_not_a_tty(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    out = run_cli("get", TINY, "--cache-dir", str(tmp_path), "--endpoint", sim.url("hf-mirror"))
    assert out.returncode == 0
    assert "kuaidi: model.safetensors ok" in out.stderr and "\x1b[" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("ok: 5/5 files verified")
    again = run_cli("get", TINY, "--cache-dir", str(tmp_path), "--endpoint", sim.url("hf-mirror"))
    # Regression: a rerun said "0.0 MB fetched in 0.1s (0.0 MB/s)", then "5/5 files verified,
    # already complete" — though a present file is checked by size only (issue 10 #3).
    last = again.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("ok: 5 files already present (checked by size;") and "verified" not in last
    )
    assert out.stdout.strip() == str(
        tmp_path
        / "models--kuaidi-sim--tiny-model"
        / "snapshots"
        / sim.catalog.get("model", TINY).head.sha
    )


def test_bad_input_is_one_line_error(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    ep = sim.url("hf-mirror")
    cases = [
        (["kuaidi-sim/nope"], "kuaidi-sim/nope"),
        ([TINY, "missing.txt"], "missing.txt"),
        ([TINY, "--revision", "nobranch"], "nobranch"),
        ([TINY, "--local-dir", str(tmp_path / "l")], "both --cache-dir and --local-dir"),
        (["a/b/c"], "a/b/c"),
    ]
    for args, named in cases:
        out = run_cli("get", *args, "--cache-dir", str(tmp_path / "c"), "--endpoint", ep)
        assert out.returncode == 2, (args, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kuaidi: error:") and named in lines[0]
        assert "(fix:" in lines[0]
    assert not (tmp_path / "c").exists() and not (tmp_path / "l").exists()
    dead = run_cli(
        "get",
        TINY,
        "--cache-dir",
        str(tmp_path / "c"),
        "--endpoint",
        "http://127.0.0.1:9",
        "--max-retries",
        "0",
    )
    assert dead.returncode == 1 and "cannot reach http://127.0.0.1:9" in dead.stderr


def test_work_stealing_splits_one_big_file_across_connections(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One 24 MB file (smaller than a 32 MiB piece) still travels over all connections."""
    sim = make_sim(overrides={"hf-cdn": {"conn_rate": 8 * 1024 * 1024}})
    result = download(
        "kuaidi-test/resume",
        include=["model.safetensors"],
        engine=engine_options(connections=4),
        endpoint=sim.url("hf-mirror"),
        cache_dir=tmp_path,
    )
    assert result.ok
    gets = sim.log("hf-cdn").requests("*/model.safetensors", method="GET")
    starts = sorted({int(e.range.split("=")[1].split("-")[0]) for e in gets if e.range})
    assert len(starts) >= 4, [e.range for e in gets]  # the tail was stolen, then stolen again
    assert starts[0] == 0 and all(s % (64 * 1024) == 0 for s in starts)
    size = 24 * 1024 * 1024
    assert sim.log("hf-cdn").bytes_sent("*/model.safetensors") < size + 4 * 1024 * 1024


def test_small_files_reuse_connections(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: each small file opened a new connection (the redirect's body and the file's
    end were never read, so httpx could not pool them) — a TCP + TLS handshake per file."""
    from kuaidi.sim.content import Catalog, RepoSpec

    files = [(f"shards/part-{i:03d}.json", 1500) for i in range(40)]
    catalog = Catalog(tmp_path / "content", [RepoSpec("org/many", files, revisions=1)])
    with Sim("clean", catalog=catalog, hosts=["hf-mirror", "hf-cdn"]) as sim:
        result = download(
            "org/many",
            endpoint=sim.url("hf-mirror"),
            cache_dir=tmp_path / "hub",
            engine=engine_options(connections=4),
            sources=SourceOptions(modelscope_endpoint="none"),
        )
        assert result.ok and len(result.files) == 41  # + .gitattributes
        ports = {e.client for e in sim.log("hf-mirror").entries}
    assert len(ports) <= 4 + 1, f"{len(ports)} connections for 82 requests"  # + the listing's
