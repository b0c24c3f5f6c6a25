"""``kuaidi get --explain``, ``--source``, ``--json`` plan, ``--network-turbo`` and token scope,
end to end against the sim (tinyproxy where the origin is involved)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kuaidi.sim import EGRESS, Sim
from kuaidi.sim.content import SIM_TOKEN
from kuaidi.sim.proxy import TinyProxy
from tests.ladder.conftest import (
    NESTED,
    QWEN,
    TINY,
    base_env,
    expected,
    get_json,
    kuaidi_get,
    mirror_name,
    ms_file_gets,
    read_tree,
)
from tests.net.test_turbo import AUTODL_2024, AUTODL_OLD, ONE_LINE, QUOTED

LLAMA, LLAMA_MS = "meta-llama/Llama-Sim-1B", "LLM-Research/Llama-Sim-1B"  # gated on both sides


def test_explain_dry_run_prints_only_the_plan(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    sim = make_sim()
    env = base_env(sim, tmp_path)
    cache = tmp_path / "c"
    out = kuaidi_get(TINY, "--explain", "--dry-run", "--cache-dir", str(cache), env=env)
    assert out.returncode == 0, out.stderr
    text, mirror = out.stdout, mirror_name(sim)
    assert f"hashes from {mirror}" in text
    for path in expected(sim, TINY):  # every file, with its ladder and why
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(path))
        assert f"{mirror} (listed it) → modelscope (" in line
    assert "files match by hash" in text
    # how each source is reached; the origin is not used without a proxy, and says how to fix
    assert f"{mirror} [mirror] {sim.url('hf-mirror')}: " in text and "direct" in text
    origin_line = next(ln for ln in text.splitlines() if "[origin]" in ln)
    assert "no proxy" in origin_line and "not used" in origin_line
    assert "--proxy URL, KUAIDI_PROXY, or AutoDL's /etc/network_turbo" in text
    # nothing downloaded, nothing written
    assert not cache.exists() and len(sim.log("hf-cdn")) == 0 and ms_file_gets(sim) == []
    assert sim.log("hf-mirror").requests("*/resolve/*") == [] and len(sim.log("origin")) == 0


def test_explain_after_the_run_names_the_source_that_served(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim()
    env = base_env(sim, tmp_path)
    out = kuaidi_get(TINY, "--explain", "-q", "--cache-dir", str(tmp_path / "c"), env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(Path(out.stdout.strip()))  # stdout: only the path
    assert "hashes from" in out.stderr and "served:" in out.stderr
    served = out.stderr.split("served:")[1].splitlines()
    for path, data in expected(sim, TINY).items():
        line = next(ln for ln in served if ln.strip().startswith(path))
        assert f"{mirror_name(sim)} {len(data):,} B" in line
    again = kuaidi_get(TINY, "--explain", "-q", "--cache-dir", str(tmp_path / "c"), env=env)
    assert "already in the cache" in again.stderr


def test_json_plan_and_sources(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path
) -> None:
    sim = make_sim()
    env = base_env(sim, tmp_path, HF_TOKEN=SIM_TOKEN)
    summary = get_json(TINY, "--proxy", tinyproxy.url, "--cache-dir", str(tmp_path), env=env)
    for key in ("ok", "repo_id", "commit", "path", "files", "bytes", "verified", "failed"):
        assert key in summary  # the keys scripts already read
    assert set(summary["plan"]) == set(expected(sim, TINY))
    for rungs in summary["plan"].values():
        assert [r["source"] for r in rungs] == [mirror_name(sim), "modelscope", "origin"]
        for rung in rungs:
            assert set(rung) == {"source", "kind", "repo_id", "match", "reason"}
            assert rung["repo_id"] == TINY
        assert rungs[0]["match"] == "reference"
        assert rungs[1]["match"] in ("sha256", "git-sha1")
        assert rungs[2]["match"] == "unlisted" and "verified against" in rungs[2]["reason"]
    for f in summary["files"]:
        assert f["sources"] == {mirror_name(sim): f["size"]}
    ladder = summary["ladder"]
    assert ladder["reference"] == mirror_name(sim) and ladder["mode"] == "hf"
    assert [s["kind"] for s in ladder["sources"]] == ["mirror", "modelscope", "origin"]
    assert tinyproxy.url in ladder["sources"][2]["route"]
    assert SIM_TOKEN not in json.dumps(summary)


def test_source_modelscope_takes_every_byte_from_modelscope(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim()
    env = base_env(sim, tmp_path)
    summary = get_json(TINY, "--source", "modelscope", "--cache-dir", str(tmp_path), env=env)
    assert summary["ok"] and read_tree(Path(summary["path"])) == expected(sim, TINY)
    assert sorted(ms_file_gets(sim)) == sorted(expected(sim, TINY))
    assert sim.log("hf-mirror").requests("*/resolve/*") == [] and len(sim.log("hf-cdn")) == 0
    assert all([r["kind"] for r in rungs] == ["modelscope"] for rungs in summary["plan"].values())
    assert all(set(f["sources"]) == {"modelscope"} for f in summary["files"])


def test_source_modelscope_refuses_files_it_has_with_other_bytes(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim()
    out = kuaidi_get(
        QWEN,
        "--source",
        "modelscope",
        "--cache-dir",
        str(tmp_path / "c"),
        env=base_env(sim, tmp_path),
    )
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "--source modelscope cannot serve" in out.stderr and "model.safetensors" in out.stderr
    assert ms_file_gets(sim) == [] and not (tmp_path / "c").exists()


def test_source_modelscope_for_a_repo_modelscope_lacks(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim()
    cache = tmp_path / "c"
    out = kuaidi_get(
        NESTED, "--source", "modelscope", "--cache-dir", str(cache), env=base_env(sim, tmp_path)
    )
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert f"ModelScope has no model {NESTED}" in out.stderr
    assert sim.log("hf-mirror").requests("*/resolve/*") == [] and not cache.exists()


def test_source_mirror_never_asks_modelscope_or_the_origin(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path
) -> None:
    sim = make_sim()
    env = base_env(sim, tmp_path)
    args = ["--source", "hf-mirror", "--proxy", tinyproxy.url, "--cache-dir", str(tmp_path)]
    summary = get_json(TINY, *args, env=env)
    assert summary["ok"]
    assert len(sim.log("modelscope")) == 0 and len(sim.log("origin")) == 0
    assert all(set(f["sources"]) == {mirror_name(sim)} for f in summary["files"])


def test_source_origin_lists_and_fetches_only_the_origin(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path
) -> None:
    sim = make_sim()
    env = base_env(sim, tmp_path)
    args = ["--source", "origin", "--proxy", tinyproxy.url, "--cache-dir", str(tmp_path)]
    summary = get_json(TINY, *args, env=env)
    assert summary["ok"] and read_tree(Path(summary["path"])) == expected(sim, TINY)
    assert summary["ladder"]["reference"] == "origin"
    assert len(sim.log("hf-mirror")) == 0 and len(sim.log("modelscope")) == 0
    assert {e.client[0] for e in sim.log("origin")} == {EGRESS}
    assert all(set(f["sources"]) == {"origin"} for f in summary["files"])


TURBO_FORMATS = {
    "autodl-2024": AUTODL_2024,
    "autodl-old": AUTODL_OLD,
    "one-line": ONE_LINE,
    "quoted": QUOTED,
}
PROXY_IN_FORMAT = {
    "autodl-2024": "http://172.31.1.128:12798",
    "autodl-old": "http://192.168.126.12:12798",
    "one-line": "http://turbo.gpushare.com:30000",
    "quoted": "http://172.20.0.113:12798",
}


@pytest.mark.parametrize("fmt", list(TURBO_FORMATS))
def test_network_turbo_formats_from_the_wild(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path, fmt: str
) -> None:
    """Each format, its proxy swapped for tinyproxy: the origin is reached through it."""
    sim = make_sim(lacks=["kuaidi-sim/nested-*"])
    turbo = tmp_path / "network_turbo"
    turbo.write_text(TURBO_FORMATS[fmt].replace(PROXY_IN_FORMAT[fmt], tinyproxy.url))
    env = base_env(sim, tmp_path)
    args = ["--network-turbo", str(turbo), "--cache-dir", str(tmp_path / "c"), "--explain"]
    out = kuaidi_get(NESTED, *args, "--dry-run", env=env)
    assert out.returncode == 0, out.stderr
    assert f"through {tinyproxy.url} ({turbo})" in out.stdout
    assert "no mirror listed it; the origin did" in out.stdout
    if fmt == "autodl-2024":  # and the bytes really come through it
        got = kuaidi_get(NESTED, *args, "-q", env=env)
        assert got.returncode == 0, got.stderr
        assert read_tree(Path(got.stdout.strip())) == expected(sim, NESTED)
        assert {e.client[0] for e in sim.log("origin-cdn")} == {EGRESS}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (None, "does not exist"),
        ("echo hi\nexport no_proxy=localhost,127.0.0.1\n", "sets no http_proxy or https_proxy"),
        ("export http_proxy=http://172.31.1.128\n", "not a proxy URL"),
        ("export https_proxy=ftp://1.2.3.4:21\n", "not a proxy URL"),
        ("export http_proxy='http://1.2.3.4:12798\n", "cannot read the line"),
    ],
    ids=["missing", "no-proxy", "no-port", "ftp", "quoting"],
)
def test_network_turbo_missing_or_malformed_is_one_line(
    make_sim: Callable[..., Sim], tmp_path: Path, text: str | None, needle: str
) -> None:
    sim = make_sim()
    turbo = tmp_path / "network_turbo"
    if text is not None:
        turbo.write_text(text)
    cache = tmp_path / "c"
    out = kuaidi_get(
        TINY, "--network-turbo", str(turbo), "--cache-dir", str(cache), env=base_env(sim, tmp_path)
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kuaidi: error:"), out.stderr
    assert needle in lines[0] and str(turbo) in lines[0] and "(fix:" in lines[0]
    assert len(sim.log("hf-mirror")) == 0 and not cache.exists()  # nothing asked, nothing written


def test_hf_token_to_the_named_mirror_and_the_origin_never_to_modelscope(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path
) -> None:
    sim = make_sim(lacks=["meta-llama/*"])
    env = base_env(sim, tmp_path, HF_TOKEN=SIM_TOKEN)
    out = kuaidi_get(
        LLAMA, "--proxy", tinyproxy.url, "--explain", "--cache-dir", str(tmp_path), env=env
    )
    assert out.returncode == 0, out.stderr
    assert SIM_TOKEN not in out.stdout + out.stderr
    assert sim.log("hf-mirror").saw_token(SIM_TOKEN)  # named (HF_ENDPOINT): it may see it
    assert sim.log("origin").saw_token(SIM_TOKEN)  # the origin listed it and served the files
    for host in ("modelscope", "hf-cdn", "origin-cdn"):
        assert not sim.log(host).saw_token(SIM_TOKEN), host
    # ModelScope without MODELSCOPE_API_TOKEN cannot list the gated LLM-Research copy: a note
    assert f"modelscope has none of {LLAMA_MS}" in out.stderr
