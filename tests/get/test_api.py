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


ROOT = Path(__file__).resolve().parents[2]


def _hub_python(version: str) -> list[str]:
    """The interpreter of huggingface_hub ``version`` ("2" = this venv, "0" = the 0.26 venv)."""
    if version == "2":
        return [sys.executable]
    hf0 = os.environ.get("KUAIDI_HF0_PYTHON") or str(ROOT / ".venv-hf0/bin/python")
    if not Path(hf0).exists():
        pytest.skip("no huggingface_hub 0.26 venv (make test builds it)")
    return [hf0]


def _in_hub(version: str, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter of that hub; kuaidi (this worktree's src) and its own
    dependencies come *after* the interpreter's huggingface_hub on sys.path."""
    import site

    head = f"import sys; sys.path += {[*site.getsitepackages(), str(ROOT / 'src')]!r}\n"
    env = {k: v for k, v in env.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [*_hub_python(version), "-c", head + code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


REPAIR = """
import json, warnings
from huggingface_hub import hf_hub_download    # constants loaded: the endpoint is frozen
import huggingface_hub, huggingface_hub.constants as c
before = c.ENDPOINT
built_before = huggingface_hub.HfApi()
import kuaidi
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    kuaidi.activate(hf={mirror!r})
path = hf_hub_download({repo!r}, "config.json", cache_dir={cache!r})
print(json.dumps({{"version": huggingface_hub.__version__, "before": before, "path": path,
                  "api": huggingface_hub.hf_api.api.endpoint,
                  "warnings": [str(w.message) for w in caught]}}))
"""


@pytest.mark.parametrize("hub", ["2", "0"])
def test_activate_after_the_hub_repairs_it_in_place(make_sim, tmp_path: Path, hub: str) -> None:  # type: ignore[no-untyped-def]
    """The import-time trap: hub imported first, then activate → plain hf_hub_download uses the
    mirror (the sim's log shows it), and one warning names what changed and what did not."""
    sim = make_sim()
    mirror = sim.url("hf-mirror")
    code = REPAIR.format(mirror=mirror, repo=TINY, cache=str(tmp_path / "cache"))
    out = _in_hub(hub, code, _clean_env(tmp_path))
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["version"].startswith(hub + ".")
    assert seen["before"] == "https://huggingface.co" and seen["api"] == mirror
    assert Path(seen["path"]).read_bytes() == expected(sim, TINY)["config.json"]
    assert sim.log("hf-mirror").requests(f"/{TINY}/resolve/*/config.json")
    [warning] = seen["warnings"]
    assert "huggingface_hub.constants.ENDPOINT" in warning and mirror in warning
    assert "huggingface_hub.hf_api.api.endpoint" in warning
    assert "NOT repaired" in warning and "HfApi" in warning
    if hub == "0":  # 0.26 formats its URLs from file_download's own copy of the template
        assert "huggingface_hub.file_download.HUGGINGFACE_CO_URL_TEMPLATE" in warning
    else:
        assert "HF_HUB_DISABLE_XET" in warning and "HF_URL_HOSTS" in warning


def test_activate_repairs_the_cache_paths_onto_the_data_disk(tmp_path: Path) -> None:
    root = tmp_path / "autodl"
    disk = make_tree(root, "autodl")
    code = f"""
import json, warnings
warnings.simplefilter("ignore")
import huggingface_hub.constants as c, huggingface_hub.utils._cache_manager as m, kuaidi
kuaidi.activate(root={str(root)!r})
print(json.dumps([c.HF_HOME, c.HF_HUB_CACHE, m.HF_HUB_CACHE, c.HUGGINGFACE_CO_URL_HOME]))
"""
    out = _python(code, _clean_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [
        f"{disk}/hf",
        f"{disk}/hf/hub",
        f"{disk}/hf/hub",
        "https://huggingface.co/",  # hard-coded in every hub release: a fresh process keeps it
    ]


def test_activate_that_raises_changes_nothing(tmp_path: Path) -> None:
    code = """
import json, os
import huggingface_hub.constants as c, kuaidi
env, consts = dict(os.environ), dict(vars(c))
try:
    kuaidi.activate(hf="no-such-mirror")
except kuaidi.UsageError as exc:
    print(exc.one_line())
except kuaidi.KuaidiError as exc:
    print(exc.one_line())
print(json.dumps([dict(os.environ) == env, dict(vars(c)) == consts]))
"""
    out = _python(code, _clean_env(tmp_path))
    assert out.returncode == 0, out.stderr
    first, last = out.stdout.strip().splitlines()
    assert "no-such-mirror" in first and "fix:" in first
    assert json.loads(last) == [True, True]


def test_activate_refusing_an_unknown_hub_leaves_os_environ_alone(tmp_path: Path) -> None:
    """Regression: activate raised "restart the kernel" after it had already set os.environ."""
    code = """
import json, os, sys, types
hub, consts = types.ModuleType("huggingface_hub"), types.ModuleType("huggingface_hub.constants")
hub.__version__ = "9.0.0"  # a layout kuaidi does not know: no constants.ENDPOINT
sys.modules.update({"huggingface_hub": hub, "huggingface_hub.constants": consts})
import kuaidi
env = dict(os.environ)
try:
    kuaidi.activate()
except kuaidi.KuaidiError as exc:
    print(exc.one_line())
print(json.dumps(dict(os.environ) == env))
"""
    out = _python(code, _clean_env(tmp_path))
    assert out.returncode == 0, out.stderr
    first, last = out.stdout.strip().splitlines()
    assert "cannot repair" in first and "restart" in first
    assert json.loads(last) is True


def test_activate_before_the_hub_warns_nothing(tmp_path: Path) -> None:
    code = """
import warnings
warnings.simplefilter("error")
import kuaidi
kuaidi.activate()
kuaidi.activate()
import huggingface_hub
huggingface_hub.HfApi()
print("quiet")
"""
    out = _python(code, _clean_env(tmp_path))
    assert out.returncode == 0 and out.stdout.strip() == "quiet", out.stderr


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
