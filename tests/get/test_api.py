"""The Python API: ``kuaidi.activate()`` before huggingface_hub, and the drop-in downloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kuaidi
from kuaidi.errors import KuaidiError
from kuaidi.sim import faults as F
from tests.get.conftest import expected, read_tree
from tests.platforms.fake_trees import make_tree

TINY = "kuaidi-sim/tiny-model"


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter: huggingface_hub must not be imported before the code runs."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )


def _clean_env(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING", "MODEL"))}
    return keep | {"HOME": str(tmp_path / "home")}


def test_activate_before_the_hub_sets_its_endpoint_and_caches(tmp_path: Path) -> None:
    root = tmp_path / "autodl"
    disk = make_tree(root, "autodl")
    code = f"""
import json, kuaidi
changed = kuaidi.activate(root={str(root)!r})
import huggingface_hub.constants as c
print(json.dumps({{"changed": changed, "endpoint": c.ENDPOINT, "cache": c.HF_HUB_CACHE}}))
"""
    out = _python(code, _clean_env(tmp_path))
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["endpoint"] == "https://hf-mirror.com"
    assert seen["cache"] == f"{disk}/hf/hub"
    assert seen["changed"]["HF_HUB_DISABLE_XET"] == "1"


def test_activate_keeps_what_the_user_set(tmp_path: Path) -> None:
    env = {"HF_ENDPOINT": "https://my-mirror.example", "HF_HOME": "/data/hf"}
    changed = kuaidi.activate(root=tmp_path, environ=env)
    assert env["HF_ENDPOINT"] == "https://my-mirror.example" and env["HF_HOME"] == "/data/hf"
    assert "HF_ENDPOINT" not in changed and env["HF_HUB_DISABLE_XET"] == "1"


def test_activate_after_the_hub_is_the_import_time_trap(tmp_path: Path) -> None:
    code = """
import huggingface_hub.constants, kuaidi
try:
    kuaidi.activate()
except kuaidi.KuaidiError as exc:
    print(exc.one_line())
"""
    out = _python(code, _clean_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "imported before HF_ENDPOINT was set" in out.stdout and "fix:" in out.stdout


def test_snapshot_and_file_downloads_return_hub_paths(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    ep = sim.url("hf-mirror")
    snap = kuaidi.snapshot_download(
        TINY, cache_dir=tmp_path, endpoint=ep, allow_patterns="*.json", modelscope_endpoint="none"
    )
    want = expected(sim, TINY)
    assert read_tree(Path(snap)) == {p: b for p, b in want.items() if p.endswith(".json")}
    weights = kuaidi.hf_hub_download(
        TINY, "model.safetensors", cache_dir=tmp_path, endpoint=ep, modelscope_endpoint="none"
    )
    assert Path(weights) == Path(snap) / "model.safetensors"
    assert Path(weights).read_bytes() == want["model.safetensors"]


def test_a_file_that_cannot_be_verified_raises_naming_it(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(faults={"hf-cdn": [F.corrupt(offset=5, path="*/model.safetensors")]})
    with pytest.raises(KuaidiError, match=r"model\.safetensors") as info:
        kuaidi.hf_hub_download(
            TINY,
            "model.safetensors",
            cache_dir=tmp_path,
            endpoint=sim.url("hf-mirror"),
            modelscope_endpoint="none",
        )
    assert info.value.exit_code == 1 and "again" in (info.value.fix or "")
