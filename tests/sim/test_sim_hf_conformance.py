"""Real peers against the sim, byte-exact: huggingface_hub 2.4 (and 0.26.5), aria2c, tinyproxy.

huggingface_hub reads its environment at import, so every client runs in a subprocess with a
timeout (``tests.simfixtures.run_python``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kuaidi.sim.content import SIM_TOKEN
from kuaidi.sim.faults import reset, stall, truncate
from kuaidi.sim.proxy import TinyProxy
from tests.conftest import require_binary
from tests.simfixtures import hf_env, run_python

TINY = "kuaidi-sim/tiny-model"

SNAPSHOT = """
import json, os, hashlib, pathlib, sys
from huggingface_hub import snapshot_download, hf_hub_download
args = json.loads(os.environ["KUAIDI_TEST_ARGS"])
fn = args.pop("fn")
try:
    if fn == "snapshot":
        d = pathlib.Path(snapshot_download(**args))
        files = {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in d.rglob("*") if p.is_file()}
        print(json.dumps({"ok": True, "dir": str(d), "files": files}))
    else:
        p = pathlib.Path(hf_hub_download(**args))
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        print(json.dumps({"ok": True, "files": {p.name: digest}}))
except Exception as exc:
    mro = [c.__name__ for c in type(exc).__mro__]
    out = {"ok": False, "error": type(exc).__name__, "mro": mro, "message": str(exc)[:500]}
    print(json.dumps(out))
"""


def _hf(sim, tmp_path, *, python=None, env_extra=None, timeout=90, **args):
    env = hf_env(sim, tmp_path / "hf", **(env_extra or {}))
    args.setdefault("endpoint", sim.url("hf-mirror"))
    env["KUAIDI_TEST_ARGS"] = json.dumps(args)
    kwargs = {"python": python} if python else {}
    return run_python(SNAPSHOT, env, timeout=timeout, **kwargs)


def _expected(sim, repo_id, revision="main", repo_type="model", paths=None):
    commit = sim.catalog.get(repo_type, repo_id).resolve(revision)
    return {p: f.sha256 for p, f in commit.files.items() if paths is None or p in paths}


def test_snapshot_model_byte_exact_and_cache_layout(sim_factory, tmp_path):
    sim = sim_factory()
    got = _hf(sim, tmp_path, fn="snapshot", repo_id=TINY)
    assert got.get("ok"), got
    assert got["files"] == _expected(sim, TINY)
    commit = sim.catalog.get("model", TINY).head.sha
    assert got["dir"].endswith(f"models--kuaidi-sim--tiny-model/snapshots/{commit}")
    ref = tmp_path / "hf/hub/models--kuaidi-sim--tiny-model/refs/main"
    assert ref.read_text() == commit
    # LFS blobs are named by sha256, small ones by git sha1
    f = sim.catalog.get("model", TINY).head.files["model.safetensors"]
    assert (tmp_path / f"hf/hub/models--kuaidi-sim--tiny-model/blobs/{f.sha256}").exists()


def test_snapshot_dataset(sim_factory, tmp_path):
    sim = sim_factory()
    got = _hf(sim, tmp_path, fn="snapshot", repo_id="kuaidi-sim/tiny-dataset", repo_type="dataset")
    assert got.get("ok"), got
    assert got["files"] == _expected(sim, "kuaidi-sim/tiny-dataset", repo_type="dataset")


@pytest.mark.parametrize("which", ["v1.0", "refs/pr/1", "commit"])
def test_snapshot_by_revision(sim_factory, tmp_path, which):
    sim = sim_factory()
    old = sim.catalog.get("model", TINY).commits[0].sha
    revision = old if which == "commit" else which  # refs/pr/1 travels as refs%2Fpr%2F1
    got = _hf(sim, tmp_path, fn="snapshot", repo_id=TINY, revision=revision)
    assert got.get("ok"), got
    assert got["files"] == _expected(sim, TINY, old)
    assert got["files"]["config.json"] != _expected(sim, TINY)["config.json"]


def test_allow_and_ignore_patterns(sim_factory, tmp_path):
    sim = sim_factory()
    got = _hf(
        sim,
        tmp_path,
        fn="snapshot",
        repo_id="kuaidi-sim/nested-model",
        allow_patterns=["*.json", "unet/*"],
        ignore_patterns=["vae/*"],
    )
    assert got.get("ok"), got
    expected = {"config.json", "unet/config.json", "unet/diffusion_model.safetensors"}
    assert set(got["files"]) == expected
    assert got["files"] == _expected(sim, "kuaidi-sim/nested-model", paths=expected)


def test_gated_repo_without_and_with_token(sim_factory, tmp_path):
    sim = sim_factory()
    denied = _hf(sim, tmp_path / "a", fn="snapshot", repo_id="kuaidi-sim/gated-model")
    assert not denied["ok"] and denied["error"] == "GatedRepoError", denied
    granted = _hf(
        sim, tmp_path / "b", fn="snapshot", repo_id="kuaidi-sim/gated-model", token=SIM_TOKEN
    )
    assert granted.get("ok"), granted
    assert granted["files"] == _expected(sim, "kuaidi-sim/gated-model")
    # the token went to the mirror (the user named it) but never to the CDN, which is another host
    assert sim.log("hf-mirror").saw_token(SIM_TOKEN)
    assert not sim.log("hf-cdn").saw_token(SIM_TOKEN)
    missing = _hf(sim, tmp_path / "c", fn="snapshot", repo_id="kuaidi-sim/no-such-model")
    assert missing["error"] == "RepositoryNotFoundError", missing


def test_missing_file(sim_factory, tmp_path):
    sim = sim_factory()
    got = _hf(sim, tmp_path, fn="file", repo_id=TINY, filename="nope.bin")
    assert not got["ok"] and "EntryNotFoundError" in got["mro"], got
    commit = sim.catalog.get("model", TINY).head.sha
    assert (
        tmp_path / f"hf/hub/models--kuaidi-sim--tiny-model/.no_exist/{commit}/nope.bin"
    ).exists()


def test_hf_hub_download_resumes_after_a_stall_and_a_truncation(sim_factory, tmp_path):
    sim = sim_factory(
        faults={
            "hf-cdn": [
                truncate(after="16KiB", path="model.safetensors", times=1),
                stall(after="32KiB", path="model.safetensors", times=1),
            ]
        }
    )
    got = _hf(
        sim,
        tmp_path,
        fn="file",
        repo_id=TINY,
        filename="model.safetensors",
        env_extra={"HF_HUB_DOWNLOAD_TIMEOUT": "1"},
    )
    assert got.get("ok"), got
    assert got["files"]["model.safetensors"] == _expected(sim, TINY)["model.safetensors"]
    cdn = sim.log("hf-cdn")
    assert cdn.requests(fault="truncate") and cdn.requests(fault="stall")
    # Under 10 MiB nothing reaches the .incomplete file before the error (10 MiB read chunks),
    # so the client's retry starts again from byte 0 rather than sending a Range.
    assert len(cdn.requests("*/model.safetensors")) == 3


def test_hf_hub_download_gives_up_on_a_connection_reset(sim_factory, tmp_path):
    """huggingface_hub 2.4's http_get retries ConnectError, timeouts and RemoteProtocolError
    only; an RST mid-body is an httpx.ReadError and fails the whole download, even with
    ``times=1``. (Observed; kuaidi's own downloader must treat it as resumable.)"""
    sim = sim_factory(faults={"hf-cdn": [reset(after="16KiB", path="model.safetensors", times=1)]})
    got = _hf(sim, tmp_path, fn="file", repo_id=TINY, filename="model.safetensors")
    assert not got["ok"] and got["error"] == "ReadError", got
    assert len(sim.log("hf-cdn").requests("*/model.safetensors")) == 1


def test_xet_headers_without_disable_xet(sim_factory, tmp_path):
    """A mirror that passes Xet headers through, and a user who did not set HF_HUB_DISABLE_XET.

    Observed with huggingface_hub 2.4 + hf_xet: see the assertion; documented in docs/sim.md.
    """
    sim = sim_factory(overrides={"hf-mirror": {"options": {"xet": True}}})
    env_extra = {"HF_HUB_DISABLE_XET": "0"}
    got = _hf(
        sim, tmp_path, fn="file", repo_id=TINY, filename="model.safetensors",
        env_extra=env_extra, timeout=12,
    )  # fmt: skip
    probe = (
        "import json, importlib.util as u; print(json.dumps({'x': bool(u.find_spec('hf_xet'))}))"
    )
    xet_installed = run_python(probe, hf_env(sim, tmp_path / "probe"))["x"]
    token_calls = sim.log("hf-mirror").requests("*/xet-read-token/*")
    if xet_installed:
        # hf_xet takes over: it asks the mirror for a token, then talks to the CAS it names
        # (connection refused) and the download fails; the CDN never sees a byte.
        assert got.get("timeout") or not got.get("ok"), got
        assert token_calls
        assert sim.log("hf-cdn").bytes_sent("*/model.safetensors") == 0
    else:
        # without hf_xet the client falls back to plain HTTP and succeeds
        assert got.get("ok"), got


def test_old_huggingface_hub_0_26(sim_factory, tmp_path):
    python = os.environ.get("KUAIDI_HF0_PYTHON")
    if not python:
        pytest.skip("KUAIDI_HF0_PYTHON is not set (make test sets it)")
    sim = sim_factory()
    got = _hf(sim, tmp_path, python=python, fn="snapshot", repo_id=TINY)
    assert got.get("ok"), got
    assert got["files"] == _expected(sim, TINY)
    gated = _hf(sim, tmp_path / "g", python=python, fn="snapshot", repo_id="kuaidi-sim/gated-model")
    assert gated["error"] == "GatedRepoError", gated
    missing = _hf(sim, tmp_path / "m", python=python, fn="file", repo_id=TINY, filename="nope")
    assert missing["error"] == "EntryNotFoundError", missing  # 0.26 has no Remote… subclass


def test_renamed_repo_is_followed(sim_factory, tmp_path):
    sim = sim_factory()
    got = _hf(sim, tmp_path, fn="snapshot", repo_id="kuaidi-sim/old-tiny-model")
    assert got.get("ok"), got
    assert got["files"] == _expected(sim, TINY)
    assert sim.log("hf-mirror").requests("/api/models/kuaidi-sim/old-tiny-model*", status=307)


def test_aria2c_follows_the_cdn_redirect_with_4_connections(sim_factory, tmp_path):
    aria2c = require_binary("aria2c")
    sim = sim_factory(
        repos=None,
        overrides={"hf-cdn": {"conn_rate": 8 * 1024 * 1024}},  # chunked path, still fast
    )
    f = sim.catalog.get("model", "kuaidi-sim/demo-model").head.files["model.safetensors"]
    url = f"{sim.url('hf-mirror')}/kuaidi-sim/demo-model/resolve/main/model.safetensors"
    proc = subprocess.run(
        [aria2c, "-x", "4", "-s", "4", "-k", "1M", "--file-allocation=none", "--no-conf",
         "--console-log-level=error", "--summary-interval=0", "-d", str(tmp_path), "-o", "out.bin",
         url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert hashlib.sha256((tmp_path / "out.bin").read_bytes()).hexdigest() == f.sha256
    ranged = [e for e in sim.log("hf-cdn").requests("/blobs/*") if e.range]
    assert len(ranged) >= 2  # it really split the file


def test_tinyproxy_carries_requests_to_the_walled_origin(sim_factory, tmp_path):
    """curl through a real tinyproxy reaches origin and follows its 302 to origin-cdn; the same
    request direct is reset. (curl, not huggingface_hub: tinyproxy closes the client connection
    after each response without ``Connection: close``, so pooled keep-alive clients race on
    reuse — a property of tinyproxy documented in docs/sim.md, not something to test here.)"""
    curl = require_binary("curl")
    require_binary("tinyproxy")
    sim = sim_factory("wall")
    repo = sim.catalog.get("model", TINY).head
    base = f"{sim.url('origin')}/{TINY}/resolve/main"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with TinyProxy() as proxy:
        for name in ("model.safetensors", "config.json"):
            out = tmp_path / name
            proc = subprocess.run(
                [curl, "-sSfL", "--max-time", "30", "-x", proxy.url, "-o", str(out),
                 f"{base}/{name}"],
                capture_output=True, text=True, timeout=60, env=env,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            assert hashlib.sha256(out.read_bytes()).hexdigest() == repo.files[name].sha256
        assert any("Established connection" in line for line in proxy.log_lines())
    assert sim.log("origin-cdn").bytes_sent("/blobs/*") == repo.files["model.safetensors"].size
    assert all(e.client[0] == "127.0.0.9" for e in sim.log("origin") if e.status)
    direct = subprocess.run(
        [curl, "-sS", "--max-time", "10", "-o", "/dev/null", f"{base}/config.json"],
        capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip
    # accepted then RST: curl reports it as a failed connect (7) or a reset on receive (56)
    assert direct.returncode in (7, 56), direct.stderr
    assert any(e.outcome == "refused" for e in sim.log("origin"))


def test_hf_cli_with_only_the_exported_env(sim_factory, tmp_path):
    """What `kuaidi sim` tells users to paste (HF_ENDPOINT, HF_HUB_DISABLE_XET) is enough for
    the real `hf download` CLI."""
    hf = Path(sys.executable).with_name("hf")
    if not hf.exists():
        pytest.skip("the hf CLI is not installed in this venv")
    sim = sim_factory()
    env = hf_env(sim, tmp_path / "home")
    proc = subprocess.run(
        [str(hf), "download", "kuaidi-sim/nested-model", "--local-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    for path, sha in _expected(sim, "kuaidi-sim/nested-model").items():
        assert hashlib.sha256((tmp_path / "out" / path).read_bytes()).hexdigest() == sha, path
