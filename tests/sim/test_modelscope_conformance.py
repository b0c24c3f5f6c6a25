"""The real ``modelscope`` SDK (1.40.2 → modelscope_hub 0.5.1) against the simulated hub.

Each download runs in a subprocess with ``MODELSCOPE_ENDPOINT`` (plain http), ``MODELSCOPE_CACHE``
and ``HOME`` in a tmp dir and no proxy variables, so only loopback is reachable. Outcomes are
asserted on bytes (sha256 against the sim's catalog), exit codes and the sim's request log.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN
from kuaidi.sim.faults import corrupt, ignore_range, truncate
from kuaidi.sim.modelscope import OSS_REDIRECT

MS_HOSTS = ["modelscope", "modelscope-cdn"]

# The child prints one JSON line: where the snapshot landed, or the error it raised.
_RUNNER = r"""
import json, sys
from modelscope import snapshot_download, dataset_snapshot_download
args = json.loads(sys.argv[1])
fn = dataset_snapshot_download if args.pop("dataset", False) else snapshot_download
try:
    path = fn(**args)
    print("RESULT " + json.dumps({"path": str(path)}))
except Exception as exc:
    print("RESULT " + json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


@pytest.fixture
def content_dir(sim_cache: Path) -> Path:
    """The session's generated content (tests.simfixtures), shared with the other sim tests."""
    return sim_cache


def run_sdk(sim: Sim, tmp: Path, *, env: dict[str, str] | None = None, **kwargs: object) -> dict:
    """Run snapshot_download(**kwargs) in a fresh process against the sim; its JSON result."""
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    child_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "MODELSCOPE_ENDPOINT": sim.url("modelscope"),
        "MODELSCOPE_CACHE": str(tmp / "cache"),
        "NO_PROXY": "*",
        **(env or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps(kwargs)],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    return json.loads(lines[-1].removeprefix("RESULT "))


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def catalog_hashes(sim: Sim, repo_type: str, ms_id: str) -> dict[str, str]:
    repo = sim.catalog.modelscope(repo_type, ms_id)
    assert repo is not None
    return {path: f.sha256 for path, f in repo.head.files.items()}


def test_snapshot_download_model_is_byte_exact(content_dir: Path, tmp_path: Path) -> None:
    # demo-model's 6 MiB safetensors is above redirect_min_size: it comes via the CDN's 302.
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS, overrides=OSS_REDIRECT) as sim:
        result = run_sdk(sim, tmp_path, model_id="kuaidi-sim/demo-model")
        assert "path" in result, result
        assert tree_hashes(Path(result["path"])) == catalog_hashes(
            sim, "model", "kuaidi-sim/demo-model"
        )
        ms = sim.log("modelscope")
        listing = ms.requests("/api/v1/models/kuaidi-sim/demo-model/repo/files")
        assert listing and listing[0].query["Revision"] == ["master"]
        assert ms.requests("/api/v1/repos/internalAccelerationInfo", status=404)
        assert ms.requests("/api/v1/models/kuaidi-sim/demo-model/repo", status=302)
        cdn = sim.log("modelscope-cdn").requests("/blobs/*/model.safetensors", status=200)
        assert cdn and cdn[0].bytes_sent == 6 * 1024 * 1024


def test_dataset_snapshot_download_is_byte_exact(content_dir: Path, tmp_path: Path) -> None:
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS) as sim:
        result = run_sdk(sim, tmp_path, dataset=True, repo_id="kuaidi-sim/tiny-dataset")
        assert "path" in result, result
        assert tree_hashes(Path(result["path"])) == catalog_hashes(
            sim, "dataset", "kuaidi-sim/tiny-dataset"
        )
        pages = sim.log("modelscope").requests("/api/v1/datasets/kuaidi-sim/tiny-dataset/repo/tree")
        assert pages and pages[0].query["PageNumber"] == ["1"]


def test_mapped_gated_model_needs_a_granted_token(content_dir: Path, tmp_path: Path) -> None:
    # HF meta-llama/Llama-Sim-1B is published on ModelScope as LLM-Research/Llama-Sim-1B, gated.
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS) as sim:
        anonymous = run_sdk(sim, tmp_path / "anon", model_id="LLM-Research/Llama-Sim-1B")
        assert "error" in anonymous and "404" in anonymous["message"]
        assert sim.log("modelscope").requests("*/LLM-Research/Llama-Sim-1B/*", status=404)

        granted = run_sdk(
            sim,
            tmp_path / "granted",
            env={"MODELSCOPE_API_TOKEN": SIM_TOKEN},
            model_id="LLM-Research/Llama-Sim-1B",
        )
        assert "path" in granted, granted
        assert tree_hashes(Path(granted["path"])) == catalog_hashes(
            sim, "model", "LLM-Research/Llama-Sim-1B"
        )
        assert sim.log("modelscope").saw_token(SIM_TOKEN)
        assert not sim.log("modelscope-cdn").saw_token(SIM_TOKEN)


def test_modelscope_variant_serves_its_own_bytes(content_dir: Path, tmp_path: Path) -> None:
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS) as sim:
        result = run_sdk(sim, tmp_path, model_id="Qwen/Qwen-Sim-0.5B")
        got = tree_hashes(Path(result["path"]))
        hf = sim.catalog.get("model", "Qwen/Qwen-Sim-0.5B")
        assert got == catalog_hashes(sim, "model", "Qwen/Qwen-Sim-0.5B")
        assert got["model.safetensors"] != hf.head.files["model.safetensors"].sha256


def test_seeded_corrupt_byte_is_refused_by_the_sdk(content_dir: Path, tmp_path: Path) -> None:
    # Every copy of model.safetensors has byte 1000 flipped: the SDK's sha256 check must fail
    # all its attempts and leave nothing at the final path.
    rule = corrupt(offset=1000, path="/api/v1/models/kuaidi-sim/tiny-model/repo")
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS, faults={"modelscope": [rule]}) as sim:
        result = run_sdk(
            sim, tmp_path, model_id="kuaidi-sim/tiny-model", allow_patterns=["model.safetensors"]
        )
        assert result.get("error") == "FileDownloadError", result
        snapshot = tmp_path / "cache/models/kuaidi-sim--tiny-model/snapshots/master"
        assert not (snapshot / "model.safetensors").exists()
        fired = sim.log("modelscope").requests("*/repo", fault="corrupt")
        assert len(fired) == 3  # modelscope_hub's DOWNLOAD_HASH_RETRY_TIMES


def test_one_corrupt_copy_is_retried_to_the_right_bytes(content_dir: Path, tmp_path: Path) -> None:
    rule = corrupt(offset=1000, path="/api/v1/models/kuaidi-sim/tiny-model/repo", times=1)
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS, faults={"modelscope": [rule]}) as sim:
        result = run_sdk(
            sim, tmp_path, model_id="kuaidi-sim/tiny-model", allow_patterns=["model.safetensors"]
        )
        assert tree_hashes(Path(result["path"])) == {
            "model.safetensors": catalog_hashes(sim, "model", "kuaidi-sim/tiny-model")[
                "model.safetensors"
            ]
        }
        assert len(sim.log("modelscope").requests("*/repo", fault="corrupt")) == 1


@pytest.mark.parametrize("mode", ["200-with-content-range", "ignore"])
def test_resume_answered_with_200(content_dir: Path, tmp_path: Path, mode: str) -> None:
    """Live ModelScope answers a resume's Range with 200 (+ a correct Content-Range).

    The first GET is cut after 20 KiB; the SDK resumes with ``Range: bytes=20480-``. With
    ``200-with-content-range`` it appends the tail; with a plain 200 (Range ignored) it restarts
    from the full body. Either way modelscope_hub 0.5.1 ends byte-exact (it once wrote shifted
    bytes: modelscope/modelscope_hub#50).
    """
    path = "/api/v1/models/kuaidi-sim/tiny-model/repo"
    rules = [truncate(after="20KiB", path=path, times=1), ignore_range(mode=mode, path=path)]
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS, faults={"modelscope": rules}) as sim:
        result = run_sdk(
            sim, tmp_path, model_id="kuaidi-sim/tiny-model", allow_patterns=["model.safetensors"]
        )
        assert "path" in result, result
        expected = catalog_hashes(sim, "model", "kuaidi-sim/tiny-model")["model.safetensors"]
        assert tree_hashes(Path(result["path"])) == {"model.safetensors": expected}
        gets = sim.log("modelscope").requests(path)
        assert [e.outcome for e in gets] == ["truncated", "ok"]
        resumed = gets[1]
        assert resumed.range == "bytes=20480-" and resumed.status == 200
        size = 64 * 1024
        assert resumed.bytes_sent == (size - 20480 if mode == "200-with-content-range" else size)


def test_empty_200_body_once_is_retried(content_dir: Path, tmp_path: Path) -> None:
    options = {"empty_bodies": {"path": "/api/v1/models/kuaidi-sim/tiny-model/repo", "times": 1}}
    overrides = {"modelscope": {"options": options}}
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS, overrides=overrides) as sim:
        result = run_sdk(
            sim, tmp_path, model_id="kuaidi-sim/tiny-model", allow_patterns=["model.safetensors"]
        )
        assert "path" in result, result
        assert sim.app("modelscope").empty_fired == 1
        expected = catalog_hashes(sim, "model", "kuaidi-sim/tiny-model")["model.safetensors"]
        assert tree_hashes(Path(result["path"])) == {"model.safetensors": expected}


def test_empty_200_bodies_always_fail_without_a_file(content_dir: Path, tmp_path: Path) -> None:
    options = {"empty_bodies": {"path": "/api/v1/models/kuaidi-sim/tiny-model/repo"}}
    overrides = {"modelscope": {"options": options}}
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS, overrides=overrides) as sim:
        result = run_sdk(
            sim, tmp_path, model_id="kuaidi-sim/tiny-model", allow_patterns=["model.safetensors"]
        )
        assert result.get("error") == "FileDownloadError", result
        assert sim.app("modelscope").empty_fired >= 2
        snapshot = tmp_path / "cache/models/kuaidi-sim--tiny-model/snapshots/master"
        assert not (snapshot / "model.safetensors").exists()


def test_hf_main_revision_does_not_exist_on_modelscope(content_dir: Path, tmp_path: Path) -> None:
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS) as sim:
        result = run_sdk(sim, tmp_path, model_id="kuaidi-sim/tiny-model", revision="main")
        assert "error" in result and "404" in result["message"]
        tagged = run_sdk(sim, tmp_path, model_id="kuaidi-sim/tiny-model", revision="v1.0")
        repo = sim.catalog.modelscope("model", "kuaidi-sim/tiny-model")
        want = {p: f.sha256 for p, f in repo.resolve("v1.0").files.items()}
        assert tree_hashes(Path(tagged["path"])) == want


def run_cli(sim: Sim, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The SDK's own ``modelscope download`` command against the sim."""
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp / "home"),
        "MODELSCOPE_ENDPOINT": sim.url("modelscope"),
        "MODELSCOPE_CACHE": str(tmp / "cache"),
    }
    cli = Path(sys.executable).with_name("modelscope")
    return subprocess.run(
        [str(cli), "download", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_modelscope_download_cli_is_byte_exact(content_dir: Path, tmp_path: Path) -> None:
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS, overrides=OSS_REDIRECT) as sim:
        out = tmp_path / "out"
        proc = run_cli(sim, tmp_path, "kuaidi-sim/demo-model", "--local-dir", str(out))
        assert proc.returncode == 0, proc.stderr
        assert tree_hashes(out) == catalog_hashes(sim, "model", "kuaidi-sim/demo-model")


def test_single_file_cli_checks_only_what_it_has_a_hash_for(
    content_dir: Path, tmp_path: Path
) -> None:
    """``modelscope download REPO FILE`` lists nothing, so it knows a sha256 only from the
    ``X-Linked-ETag`` the hub sends for LFS files: a corrupt LFS file is refused, a corrupt
    git (non-LFS) file is written as is. kuaidi must verify such files itself."""
    rule = corrupt(offset=100, path="/api/v1/models/kuaidi-sim/tiny-model/repo")
    with Sim("clean", cache_dir=content_dir, hosts=MS_HOSTS, faults={"modelscope": [rule]}) as sim:
        out = tmp_path / "out"
        lfs = run_cli(
            sim, tmp_path, "kuaidi-sim/tiny-model", "model.safetensors", "--local-dir", str(out)
        )
        assert lfs.returncode != 0 and "Hash mismatch" in lfs.stderr
        assert not (out / "model.safetensors").exists()

        plain = run_cli(
            sim, tmp_path, "kuaidi-sim/tiny-model", "config.json", "--local-dir", str(out)
        )
        assert plain.returncode == 0, plain.stderr
        want = catalog_hashes(sim, "model", "kuaidi-sim/tiny-model")["config.json"]
        got = tree_hashes(out)
        assert set(got) == {"config.json"} and got["config.json"] != want
        assert not sim.log("modelscope").requests("*/repo/files")
