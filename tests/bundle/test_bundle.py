"""``kuaidi bundle``: created against the sim's PyPI index and HF mirror, installed into a fresh
venv and an empty HF cache inside ``unshare -n`` (no network at all), damaged bundles refused."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from tests.cache.conftest import REPO_ROOT, TINY, expected, tree_hash

DATASET = "kuaidi-sim/tiny-dataset"


def _no_net_ok() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-n", "true"], timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


NO_NET = _no_net_ok()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    content = tmp_path_factory.mktemp("sim-content")
    with Sim("clean", hosts=["hf-mirror", "hf-cdn", "pypi-tuna"], cache_dir=content) as s:
        yield s


def _env(sim: Sim, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING", "PIP_"))}
    env.update(sim.env())
    env.update(HOME=str(home), HF_HOME=str(home / "hf"), NO_PROXY="127.0.0.1")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def kuaidi(*args: str, env: dict[str, str], net: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kuaidi", *args]
    if not net:
        cmd = ["unshare", "-n", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def bundles(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One directory bundle and one tar bundle of tiny-model + tiny-dataset + kdemo-app."""
    root = tmp_path_factory.mktemp("bundles")
    (root / "requirements.txt").write_text("kdemo-app\n")
    env = _env(sim, root / "home")
    out = {}
    for name, extra in (("dir", []), ("tar", ["--tar"])):
        path = root / ("lab.tar" if extra else "lab")
        made = kuaidi(
            "bundle",
            "create",
            str(path),
            "--model",
            TINY,
            "--dataset",
            DATASET,
            "-r",
            str(root / "requirements.txt"),
            "--python",
            "3.11",
            "--platform",
            "manylinux2014_x86_64",
            "--no-kuaidi",
            "--json",
            *extra,
            env=env,
        )
        assert made.returncode == 0, made.stderr
        summary = json.loads(made.stdout)
        assert [w.split("/")[-1].split("-")[0] for w in summary["wheels"]] == [
            "kdemo_app",
            "kdemo_lib",
        ]
        out[name] = path
    assert not (root / "lab.tar.partial").exists()
    return out


def test_bundle_manifest_describes_every_file(bundles: dict[str, Path]) -> None:
    manifest = json.loads((bundles["dir"] / "kuaidi-bundle.json").read_text())
    kinds = {e["kind"] for e in manifest["files"]}
    assert {"hf-blob", "hf-ref", "wheel", "requirements"} <= kinds
    assert all(len(e["sha256"]) == 64 and e["size"] >= 0 for e in manifest["files"])
    assert all(
        re.match(r"^(\.\./){2,}blobs/[0-9a-f]{40,64}$", k["target"]) for k in manifest["links"]
    )
    assert {r["repo_id"] for r in manifest["repos"]} == {TINY, DATASET}


@pytest.mark.skipif(not NO_NET, reason="unshare -n is not permitted here (needs root)")
@pytest.mark.parametrize("kind", ["dir", "tar"])
def test_install_with_no_network_at_all(
    bundles: dict[str, Path], sim: Sim, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "fresh-venv"
    venv.create(target, with_pip=True)
    py = str(target / "bin" / "python")
    cache = tmp_path / "empty-hub"
    env = _env(sim, tmp_path / "home")
    for k in ("HF_ENDPOINT", "PIP_INDEX_URL", "UV_DEFAULT_INDEX"):
        env.pop(k, None)
    env.update(HF_HUB_OFFLINE="1", PIP_CONFIG_FILE=os.devnull)
    done = kuaidi(
        "bundle",
        "install",
        str(bundles[kind]),
        "--cache-dir",
        str(cache),
        "--python",
        py,
        env=env,
        net=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "installed model kuaidi-sim/tiny-model@" in done.stdout
    code = (
        "import json, kdemo_app, kdemo_lib; from huggingface_hub import snapshot_download as s; "
        f"p = s({TINY!r}, cache_dir={str(cache)!r}, local_files_only=True); "
        "print(json.dumps({'path': p, 'app': kdemo_app.__name__}))"
    )
    # The fresh venv imports the wheels; hub (from kuaidi's venv, on the fresh venv's path) loads.
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    env2 = {**env, "PYTHONPATH": site}
    loaded = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env2,
    )
    assert loaded.returncode == 0, loaded.stderr
    apps = subprocess.run(
        ["unshare", "-n", py, "-c", "import kdemo_app, kdemo_lib"], capture_output=True, timeout=60
    )
    assert apps.returncode == 0, apps.stderr
    root = Path(json.loads(loaded.stdout.splitlines()[-1])["path"])
    got = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert got == expected(sim, TINY)
    ok = kuaidi("cache", "verify", "--cache-dir", str(cache), env=env, net=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # A second install finds every blob already there and copies none.
    again = kuaidi(
        "bundle",
        "install",
        str(bundles[kind]),
        "--cache-dir",
        str(cache),
        "--no-wheels",
        "--json",
        env=env,
        net=False,
    )
    assert json.loads(again.stdout)["blobs_copied"] == 0


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_bundle_with_one_byte_flipped_is_refused_naming_the_file(
    bundles: dict[str, Path], sim: Sim, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bundles["dir"], copy, symlinks=True)
    manifest = json.loads((copy / "kuaidi-bundle.json").read_text())
    blob = max((e for e in manifest["files"] if e["kind"] == "hf-blob"), key=lambda e: e["size"])
    _flip(copy / blob["path"])
    env = _env(sim, tmp_path / "home")
    bad = kuaidi("bundle", "verify", str(copy), env=env)
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [
        f"BAD {blob['path']}: sha256 " + bad.stdout.split("sha256 ", 1)[1].splitlines()[0]
    ]
    cache = tmp_path / "target-hub"
    cache.mkdir()
    before = tree_hash(tmp_path / "target-hub")
    refused = kuaidi("bundle", "install", str(copy), "--cache-dir", str(cache), env=env)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert blob["path"] in refused.stderr and "nothing was installed" in refused.stderr
    assert tree_hash(cache) == before


def test_a_flipped_byte_inside_a_tar_bundle_is_named(
    bundles: dict[str, Path], sim: Sim, tmp_path: Path
) -> None:
    good = kuaidi("bundle", "verify", str(bundles["tar"]), env=_env(sim, tmp_path))
    assert good.returncode == 0, good.stdout + good.stderr
    copy = tmp_path / "lab.tar"
    shutil.copy(bundles["tar"], copy)
    data = bytearray(copy.read_bytes())
    wheel = data.find(b"kdemo_lib/__init__.py")  # inside the kdemo-lib wheel's member data
    assert wheel > 0
    data[wheel] ^= 0x20
    copy.write_bytes(bytes(data))
    bad = kuaidi("bundle", "verify", str(copy), env=_env(sim, tmp_path))
    assert bad.returncode == 1 and "wheels/kdemo_lib-" in bad.stdout, bad.stdout + bad.stderr
