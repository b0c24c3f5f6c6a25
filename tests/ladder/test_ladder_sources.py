"""Acceptance: where the bytes come from, against the sim with a real tinyproxy.

Mirror has it → all from the mirror. Mirror lacks it, ModelScope has it under a mapped id →
from ModelScope, loadable by HF id offline. Neither → from the walled origin through the proxy,
domestic hosts still direct with http(s)_proxy exported globally. A ModelScope variant (other
bytes under the mapped id) is never used.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from kuaidi.sim import EGRESS, Sim
from kuaidi.sim.proxy import TinyProxy
from tests.ladder.conftest import (
    GLM,
    GLM_MS,
    NESTED,
    PROXY_VARS,
    QWEN,
    TINY,
    base_env,
    expected,
    get_json,
    kuaidi_get,
    mirror_name,
    ms_file_gets,
    proxied_hosts,
    read_tree,
)


def _hub_offline(cache: Path, repo_id: str) -> dict[str, bytes]:
    """What huggingface_hub finds for the HF id with no network at all."""
    code = (
        "from huggingface_hub import snapshot_download as s; "
        f"print(s({repo_id!r}, cache_dir={str(cache)!r}, local_files_only=True))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_XET": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    return read_tree(Path(out.stdout.strip()))


def _sources(summary: dict) -> dict[str, set[str]]:  # type: ignore[type-arg]
    return {f["path"]: set(f["sources"]) for f in summary["files"]}


def test_mirror_has_it_every_byte_from_the_mirror(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path
) -> None:
    sim = make_sim()
    env = base_env(sim, tmp_path)
    summary = get_json(TINY, "--cache-dir", str(tmp_path / "c"), "--proxy", tinyproxy.url, env=env)
    assert summary["ok"] and read_tree(Path(summary["path"])) == expected(sim, TINY)
    mirror = mirror_name(sim)
    for path, rungs in summary["plan"].items():  # the whole ladder was there, unused
        assert [r["kind"] for r in rungs] == ["mirror", "modelscope", "origin"], path
        assert rungs[-1]["match"] == "unlisted" and tinyproxy.url in rungs[-1]["reason"]
    assert ms_file_gets(sim) == []
    assert len(sim.log("origin")) == 0 and len(sim.log("origin-cdn")) == 0
    assert proxied_hosts(tinyproxy, sim) == set()
    assert _sources(summary) == {f["path"]: {mirror} for f in summary["files"]}


def test_mirror_lacks_it_modelscope_mapped_id_loads_by_hf_id_offline(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path
) -> None:
    """The origin (through the proxy) lists it, so the Hub's hashes are the reference; the
    bytes come from ModelScope's ZhipuAI/… copy, which is domestic and byte-identical."""
    sim = make_sim(lacks=["THUDM/*"])
    env = base_env(sim, tmp_path)
    cache = tmp_path / "c"
    summary = get_json(GLM, "--cache-dir", str(cache), "--proxy", tinyproxy.url, env=env)
    assert summary["ok"], summary["failed"]
    assert summary["ladder"]["reference"] == "origin"
    for rungs in summary["plan"].values():
        assert rungs[0]["kind"] == "modelscope" and rungs[0]["repo_id"] == GLM_MS
    assert sorted(ms_file_gets(sim)) == sorted(expected(sim, GLM))
    # the origin answered the listing only: no file through the slow, metered proxy
    assert sim.log("origin").requests("*/resolve/*") == []
    assert len(sim.log("origin-cdn")) == 0
    assert _sources(summary) == {p: {"modelscope"} for p in expected(sim, GLM)}
    assert _hub_offline(cache, GLM) == expected(sim, GLM)


def test_mirror_lacks_it_no_proxy_modelscope_only_when_opted_in(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim(lacks=["THUDM/*"])
    env = base_env(sim, tmp_path)
    cache = tmp_path / "c"
    refused = kuaidi_get(GLM, "--cache-dir", str(cache), env=env)
    assert refused.returncode == 2
    line = refused.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith("kuaidi: error:")
    assert "--allow-modelscope-only" in line and GLM_MS in line and "--proxy" in line
    assert ms_file_gets(sim) == [] and not cache.exists()
    summary = get_json(GLM, "--cache-dir", str(cache), "--allow-modelscope-only", env=env)
    assert summary["ok"] and summary["ladder"]["mode"] == "modelscope-only"
    assert sorted(ms_file_gets(sim)) == sorted(expected(sim, GLM))
    assert _hub_offline(cache, GLM) == expected(sim, GLM)
    assert len(sim.log("origin")) == 0  # no proxy: the origin is never tried directly


def test_neither_has_it_origin_through_tinyproxy_with_global_proxy_exported(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path
) -> None:
    """``source /etc/network_turbo`` exported http(s)_proxy for everything; kuaidi still
    reaches the mirror and ModelScope directly and the walled origin only via the proxy."""
    sim = make_sim("cn-link", lacks=["kuaidi-sim/nested-*"])
    env = base_env(sim, tmp_path, **{name: tinyproxy.url for name in PROXY_VARS})
    cache = tmp_path / "c"
    summary = get_json(NESTED, "--cache-dir", str(cache), env=env)
    assert summary["ok"], summary["failed"]
    assert summary["ladder"]["reference"] == "origin"
    assert read_tree(Path(summary["path"])) == expected(sim, NESTED)
    # the fall back to the metered proxy is said (issue 10 #11), in --json and on stderr
    assert any("through the proxy (slow and metered)" in n for n in summary["notes"])
    for host in ("origin", "origin-cdn"):
        entries = sim.log(host).entries
        assert entries and {e.client[0] for e in entries} == {EGRESS}, host
        assert all(e.outcome != "refused" for e in entries), host  # never tried directly
    for host in ("hf-mirror", "modelscope"):  # asked (listing), directly
        entries = sim.log(host).entries
        assert entries and {e.client[0] for e in entries} == {"127.0.0.1"}, host
    assert proxied_hosts(tinyproxy, sim) == {"origin", "origin-cdn"}
    assert _sources(summary) == {p: {"origin"} for p in expected(sim, NESTED)}
    assert _hub_offline(cache, NESTED) == expected(sim, NESTED)


def test_the_wall_refuses_direct_origin_access(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    """Forced direct (no proxy), the origin resets the connection: the wall is real, and the
    unforced run above never met it."""
    sim = make_sim(lacks=["kuaidi-sim/nested-*"])
    env = base_env(sim, tmp_path)
    out = kuaidi_get(
        NESTED, "--source", "origin", "--max-retries", "0", "--cache-dir", str(tmp_path), env=env
    )
    assert out.returncode != 0 and "cannot reach" in out.stderr
    assert {e.outcome for e in sim.log("origin").entries} == {"refused"}


def test_a_modelscope_variant_is_not_used(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path
) -> None:
    """Qwen/… on ModelScope has the same names and sizes but other bytes: every file whose
    hash differs comes from the origin, never from ModelScope, and --explain says why."""
    sim = make_sim(lacks=["Qwen/*"])
    env = base_env(sim, tmp_path)
    cache = tmp_path / "c"
    out = kuaidi_get(
        QWEN, "--cache-dir", str(cache), "--proxy", tinyproxy.url, "--explain", env=env
    )
    assert out.returncode == 0, out.stderr
    assert "sha256 differs" in out.stderr and "a different revision or variant" in out.stderr
    hf = sim.catalog.get("model", QWEN).head.files
    ms = sim.catalog.modelscope("model", QWEN).head.files
    differ = {p for p in hf if hf[p].sha256 != ms[p].sha256}
    assert "model.safetensors" in differ
    assert not differ & set(ms_file_gets(sim))
    assert read_tree(Path(out.stdout.strip())) == expected(sim, QWEN)
    assert _hub_offline(cache, QWEN) == expected(sim, QWEN)


def test_two_mirrors_the_first_lacks_it(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    """--endpoint twice: the first mirror that lists the repo is the reference."""
    second = {"protocol": "hf", "options": {"cdn": "hf-cdn"}}
    sim = make_sim(
        lacks=[TINY],
        hosts=[*["hf-mirror", "hf-cdn", "modelscope"], "hf-mirror-2"],
        overrides={"hf-mirror-2": second},
    )
    env = base_env(sim, tmp_path)
    args = ["--endpoint", sim.url("hf-mirror"), "--endpoint", sim.url("hf-mirror-2")]
    summary = get_json(TINY, *args, "--cache-dir", str(tmp_path / "c"), env=env)
    assert summary["ok"]
    second_name = sim.url("hf-mirror-2").split("://")[1]
    assert summary["ladder"]["reference"] == second_name
    assert any(mirror_name(sim) in n and "not found" in n for n in summary["ladder"]["notes"])
    assert sim.log("hf-mirror").requests("*/resolve/*") == []
    assert sim.log("hf-mirror-2").requests("*/resolve/*")


def test_a_hanging_modelscope_does_not_hold_up_the_mirror(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    """Regression: every run waited for ModelScope's listing, however long it took."""
    from kuaidi.sim import faults as F

    sim = make_sim(faults={"modelscope": [F.latency(30, path="/api/*")]})
    env = base_env(sim, tmp_path)
    summary = get_json(TINY, "--cache-dir", str(tmp_path / "c"), env=env)
    assert summary["ok"] and read_tree(Path(summary["path"])) == expected(sim, TINY)
    assert any("no answer within" in n for n in summary["ladder"]["notes"])
    assert ms_file_gets(sim) == []


def test_a_dataset_the_mirror_lacks_comes_from_modelscope(
    make_sim: Callable[..., Sim], tinyproxy: TinyProxy, tmp_path: Path
) -> None:
    """Datasets take the same ladder: the origin's listing gives the hashes, ModelScope's
    dataset API the bytes, and the HF cache gets them under datasets--…"""
    data = "kuaidi-sim/tiny-dataset"
    sim = make_sim(lacks=[data])
    env = base_env(sim, tmp_path)
    cache = tmp_path / "c"
    args = ["--repo-type", "dataset", "--cache-dir", str(cache), "--proxy", tinyproxy.url]
    summary = get_json(data, *args, env=env)
    assert summary["ok"], summary["failed"]
    want = expected(sim, data, "dataset")
    assert read_tree(Path(summary["path"])) == want
    assert Path(summary["path"]).is_relative_to(cache / "datasets--kuaidi-sim--tiny-dataset")
    assert _sources(summary) == {p: {"modelscope"} for p in want}
    assert sim.log("origin").requests("*/resolve/*") == []


def test_modelscope_only_into_a_local_dir_that_hf_then_trusts(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    """--source modelscope --local-dir: real files plus the metadata `hf download` reads, so
    the Hub's own client (pointed at the mirror) re-downloads nothing."""
    sim = make_sim()
    env = base_env(sim, tmp_path)
    local = tmp_path / "model"
    summary = get_json(GLM, "--source", "modelscope", "--local-dir", str(local), env=env)
    assert summary["ok"] and read_tree(local) == expected(sim, GLM)
    assert _sources(summary) == {p: {"modelscope"} for p in expected(sim, GLM)}
    before = sim.log("hf-mirror").requests("*/resolve/*")
    code = (
        f"from huggingface_hub import snapshot_download as s; s({GLM!r}, local_dir={str(local)!r})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    fetched = [e for e in sim.log("hf-mirror").requests("*/resolve/*") if e not in before]
    assert all(e.method == "HEAD" for e in fetched), [e.path for e in fetched]
