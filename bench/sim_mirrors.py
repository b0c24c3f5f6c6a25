"""Real clients against the sim's ModelScope and PyPI hosts: how fast, per profile.

Shows that the profiles' shaping reaches real peers (pip, uv, the modelscope SDK) and what the
unshaped loopback ceiling is. ``python -m bench sim_mirrors``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kuaidi.sim import Sim
from kuaidi.sim.content import RepoSpec
from kuaidi.sim.wheels import demo_index

MS_REPO = RepoSpec(
    "bench/ms-64m", "config.json:1KB,model.safetensors:64MB", modelscope_id="bench/ms-64m"
)
MiB = 1024 * 1024


def _env(tmp: Path) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp),
        "PIP_CONFIG_FILE": "/dev/null",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp / "uv-cache"),
    }


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def _pip_blob(sim: Sim, host: str, tmp: Path) -> tuple[float, bool]:
    dest = tmp / f"pip-{host}"
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest)]
    seconds = _timed([*argv, "-i", sim.url(host) + "/simple", "kdemo-blob"], _env(tmp))
    blob = demo_index(sim.seed).project("kdemo-blob")[0]
    ok = hashlib.sha256((dest / blob.filename).read_bytes()).hexdigest() == blob.sha256
    return seconds, ok


def _uv_resolve(sim: Sim, tmp: Path) -> float:
    uv = str(Path(sys.executable).with_name("uv"))
    argv = [uv, "pip", "install", "--dry-run", "--python", sys.executable]
    return _timed([*argv, "--index-url", sim.url("pypi-tuna") + "/simple", "kdemo-app"], _env(tmp))


def _ms_snapshot(sim: Sim, tmp: Path) -> tuple[float, bool]:
    env = _env(tmp) | {"MODELSCOPE_ENDPOINT": sim.url("modelscope"), "MODELSCOPE_CACHE": str(tmp)}
    code = "from modelscope import snapshot_download; print(snapshot_download('bench/ms-64m'))"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - start
    path = Path(proc.stdout.strip().splitlines()[-1]) / "model.safetensors"
    want = sim.catalog.modelscope("model", "bench/ms-64m").head.files["model.safetensors"].sha256
    return seconds, hashlib.sha256(path.read_bytes()).hexdigest() == want


def run(out: Path) -> str:
    cache = out / "sim-mirrors-content"
    rows = []
    blob_mib = demo_index(0).project("kdemo-blob")[0].size / MiB
    hosts = ["modelscope", "pypi-tuna", "pypi-slow"]
    for profile in ("clean", "cn-link"):
        with Sim(profile, cache_dir=cache, repos=[MS_REPO], hosts=hosts) as sim:
            for host in ("pypi-tuna", "pypi-slow"):
                with tempfile.TemporaryDirectory() as tmp:
                    seconds, ok = _pip_blob(sim, host, Path(tmp))
                rows.append((profile, f"pip download kdemo-blob ({blob_mib:.1f} MiB) from {host}",
                             seconds, blob_mib / seconds, ok))  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp:
                seconds = _uv_resolve(sim, Path(tmp))
            rows.append(
                (profile, "uv pip install --dry-run kdemo-app (cold cache)", seconds, None, True)
            )
            with tempfile.TemporaryDirectory() as tmp:
                seconds, ok = _ms_snapshot(sim, Path(tmp))
            rows.append(
                (profile, "modelscope snapshot_download (64 MiB file)", seconds, 64 / seconds, ok)
            )
    lines = [
        "## Sim ModelScope and PyPI hosts with real clients",
        "",
        "Wall time of one client process, start-up included (a 2 MiB download measures pip, not",
        "the wire). `ok`: the bytes' sha256 equals the sim's. Profiles: `clean` (no shaping),",
        "`cn-link` (pypi-slow 256 KiB/s per connection, modelscope 24 MiB/s per connection).",
        "",
        "| profile | client run | seconds | MiB/s | ok |",
        "|---|---|---:|---:|---|",
    ]
    for profile, what, seconds, rate, ok in rows:
        rate_s = f"{rate:.1f}" if rate is not None else "–"
        lines.append(f"| {profile} | {what} | {seconds:.2f} | {rate_s} | {'yes' if ok else 'NO'} |")
    return "\n".join(lines) + "\n"
