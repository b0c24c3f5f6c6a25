"""Real pip and uv against the simulated PyPI mirrors, loopback only.

Neither client may reach the real PyPI: ``PIP_CONFIG_FILE=/dev/null``, ``UV_NO_CONFIG=1``, no
proxy variables, HOME and caches in tmp, and the index is always given explicitly.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from kuaidi.sim.wheels import demo_index

VENV = Path(sys.executable).parent
PYPI_HOSTS = ["pypi-tuna", "pypi-ustc", "pypi-stale", "pypi-portal"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    with Sim("clean", cache_dir=tmp_path_factory.mktemp("content"), hosts=PYPI_HOSTS) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_logs(sim: Sim) -> None:
    for name in PYPI_HOSTS:
        sim.log(name).clear()


def client_env(tmp: Path) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": f"{VENV}:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "PIP_CONFIG_FILE": "/dev/null",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
        "NO_PROXY": "*",
    }


def run(argv: list[str], tmp: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, env=client_env(tmp), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 or not check, proc.stdout + proc.stderr
    return proc


def pip(*args: str, tmp: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pip", *args], tmp, check=check)


def uv_dry_run(index: str, *packages: str, tmp: Path) -> dict[str, str]:
    proc = run(
        [
            str(VENV / "uv"),
            "pip",
            "install",
            "--dry-run",
            "--python",
            sys.executable,
            "--index-url",
            index,
            *packages,
        ],
        tmp,
    )
    return dict(re.findall(r"^ \+ (\S+)==(\S+)$", proc.stderr + proc.stdout, re.M))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pip_download_fetches_the_sims_bytes(sim: Sim, tmp_path: Path) -> None:
    index = sim.url("pypi-tuna") + "/simple"
    pip("download", "--no-deps", "-d", str(tmp_path / "dl"), "-i", index, "kdemo-lib", tmp=tmp_path)
    newest = demo_index(sim.seed).project("kdemo-lib")[-1]
    [got] = (tmp_path / "dl").iterdir()
    assert got.name == newest.filename
    assert sha256(got) == newest.sha256
    log = sim.log("pypi-tuna")
    assert log.requests("/simple/kdemo-lib/", status=200)
    assert log.requests(f"*/{newest.filename}", status=200)


def test_uv_resolves_the_dependency_chain(sim: Sim, tmp_path: Path) -> None:
    resolved = uv_dry_run(sim.url("pypi-tuna") + "/simple", "kdemo-app", tmp=tmp_path)
    assert resolved == {"kdemo-app": "1.0.0", "kdemo-lib": "1.2.0"}
    log = sim.log("pypi-tuna")
    assert log.requests("/simple/kdemo-app/") and log.requests("/simple/kdemo-lib/")
    # PEP 658 is advertised: uv reads the .metadata sidecars instead of the wheels.
    assert log.requests("*.whl.metadata", status=200)


def test_uv_reads_metadata_from_wheels_with_range(tmp_path: Path) -> None:
    overrides = {"pypi-tuna": {"options": {"core_metadata": False}}}
    with Sim("clean", cache_dir=tmp_path / "c", hosts=["pypi-tuna"], overrides=overrides) as sim:
        resolved = uv_dry_run(sim.url("pypi-tuna") + "/simple", "kdemo-app", tmp=tmp_path)
        assert resolved == {"kdemo-app": "1.0.0", "kdemo-lib": "1.2.0"}
        ranged = [e for e in sim.log("pypi-tuna").requests("*.whl") if e.range]
        assert ranged and all(e.status == 206 for e in ranged)
        assert not sim.log("pypi-tuna").requests("*.metadata")


def test_pip_installs_working_wheels(sim: Sim, tmp_path: Path) -> None:
    target = tmp_path / "site"
    index = sim.url("pypi-tuna") + "/simple"
    pip("install", "--target", str(target), "-i", index, "kdemo-app==0.2.0", tmp=tmp_path)
    check = (
        "import kdemo_app, kdemo_lib;"
        "print(kdemo_app.__version__, kdemo_lib.__version__, kdemo_lib.greet('sim'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", check],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split() == ["0.2.0", "1.2.0", "你好,", "sim"], out.stderr


def test_stale_mirror_resolves_older_versions(sim: Sim, tmp_path: Path) -> None:
    # pypi-stale lags one version and lives under /pypi/web/simple like TUNA's canonical URL.
    resolved = uv_dry_run(sim.url("pypi-stale") + "/pypi/web/simple", "kdemo-app", tmp=tmp_path)
    assert resolved == {"kdemo-app": "0.2.0", "kdemo-lib": "1.1.0"}


def test_pip_follows_the_ustc_redirect_to_tuna(sim: Sim, tmp_path: Path) -> None:
    index = sim.url("pypi-ustc") + "/simple"
    pip("download", "--no-deps", "-d", str(tmp_path / "dl"), "-i", index, "kdemo-lib", tmp=tmp_path)
    newest = demo_index(sim.seed).project("kdemo-lib")[-1]
    assert sha256(tmp_path / "dl" / newest.filename) == newest.sha256
    assert sim.log("pypi-ustc").requests(f"*/{newest.filename}", status=302)
    assert sim.log("pypi-tuna").requests(f"*/{newest.filename}", status=200)


def test_uv_follows_the_ustc_redirect_to_tuna(sim: Sim, tmp_path: Path) -> None:
    index = sim.url("pypi-ustc") + "/simple"
    resolved = uv_dry_run(index, "kdemo-app", tmp=tmp_path)
    assert resolved == {"kdemo-app": "1.0.0", "kdemo-lib": "1.2.0"}
    assert sim.log("pypi-ustc").requests("*.whl.metadata", status=302)
    assert sim.log("pypi-tuna").requests("*.whl.metadata", status=200)


def test_captive_portal_looks_like_an_empty_index_to_pip_and_uv(sim: Sim, tmp_path: Path) -> None:
    """A 200 login page parses as a project page without links: both clients report the
    package as missing (not a network error) — the trap kuaidi's probe has to name."""
    index = sim.url("pypi-portal") + "/simple"
    proc = pip("download", "--no-deps", "-d", str(tmp_path / "dl"), "-i", index, "kdemo-lib",
               tmp=tmp_path, check=False)  # fmt: skip
    assert proc.returncode != 0
    assert "No matching distribution found for kdemo-lib" in proc.stderr
    uv = run(
        [str(VENV / "uv"), "pip", "install", "--dry-run", "--python", sys.executable,
         "--index-url", index, "kdemo-app"],
        tmp_path,
        check=False,
    )  # fmt: skip
    assert uv.returncode != 0 and "kdemo-app" in uv.stderr
    assert sim.log("pypi-portal").requests("/simple/kdemo-lib/", status=200)
