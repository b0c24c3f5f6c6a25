"""Re-create docs/captured/doctor.txt and probe.txt: real `kuaidi doctor` / `kuaidi probe` runs
against the sim (loopback only) and a fake AutoDL box under /tmp/kuaidi-box.

    .venv/bin/python docs/captured/capture_doctor_probe.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kuaidi.sim import Sim
from kuaidi.sim.content import DEFAULT_REPOS
from kuaidi.sim.repos import RepoSpec
from kuaidi.units import KiB, MiB

HERE = Path(__file__).parent
KUAIDI = str(Path(sys.executable).parent / "kuaidi")
BOX = Path("/tmp/kuaidi-box")
TURBO = """export no_proxy=localhost,127.0.0.1,modelscope.com,aliyuncs.com,tencentyun.com,\
wisemodel.cn
export http_proxy=http://172.31.1.128:12798 && export https_proxy=http://172.31.1.128:12798
echo 设置成功
"""


def run(cmd: list[str], env: dict[str, str], shown: str) -> str:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    return f"$ {shown}\n{out.stdout}{out.stderr}(exit status {out.returncode})\n"


def box(sim: Sim) -> dict[str, str]:
    shutil.rmtree(BOX, ignore_errors=True)
    home = BOX / "root"
    (BOX / "root/autodl-tmp").mkdir(parents=True)
    (BOX / "etc").mkdir()
    (BOX / "etc/network_turbo").write_text(TURBO)
    (home / ".bashrc").write_text("# ~/.bashrc\nsource /etc/network_turbo\nsource ~/.bashrc\n")
    (home / ".config/pip").mkdir(parents=True)
    (home / ".config/pip/pip.conf").write_text(
        f"[global]\nindex-url = {sim.url('pypi-tuna')}/simple\n"
    )
    (home / ".condarc").write_text(
        "custom_channels:\n  pytorch-nightly: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n"
    )
    blobs = home / ".cache/huggingface/hub/models--Qwen--Qwen2.5-7B/blobs"
    blobs.mkdir(parents=True)
    (blobs / "3f1c0a.incomplete").write_bytes(b"\0" * 300_000)
    return {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "COLUMNS": "110",
        "HF_ENDPOINT": sim.url("hf-mirror"),
        "HF_HUB_ENABLE_HF_TRANSFER": "1",
        "UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple",
        # AutoDL's academic proxy, exported by hand (this run is --offline: nothing connects)
        "http_proxy": "http://172.31.1.128:12798",
        "https_proxy": "http://172.31.1.128:12798",
        "no_proxy": "localhost,*.tsinghua.edu.cn",
    }


def doctor() -> str:
    with Sim("clean", hosts=["pypi-tuna", "hf-mirror", "hf-cdn"]) as sim:
        env = box(sim)
        shown = f"kuaidi doctor --root {BOX} --offline"
        text = run([KUAIDI, "doctor", "--root", str(BOX), "--offline"], env, shown)
        fix = ["--offline", "--fix", "--only", "hf,disks,pip"]
        shown = f"kuaidi doctor --root {BOX} {' '.join(fix)}"
        text += "\n" + run([KUAIDI, "doctor", "--root", str(BOX), *fix], env, shown)
        again = f"{KUAIDI} doctor --root {BOX} --offline --only hf,disks,pip"
        shown = "bash -l   # a new login shell, same inherited variables\n$ " + again.replace(
            KUAIDI, "kuaidi"
        )
        text += "\n" + run(["bash", "-lc", again], env, shown)
        # live checks, through the route each client family would take: a bare box whose
        # no_proxy and NO_PROXY disagree (uv reads NO_PROXY first)
        bare = Path("/tmp/kuaidi-bare")
        shutil.rmtree(bare, ignore_errors=True)
        (bare / "home").mkdir(parents=True)
        index = f"{sim.url('pypi-tuna')}/simple"
        live_env = {
            "HOME": str(bare / "home"),
            "PATH": os.environ["PATH"],
            "LANG": "C.UTF-8",
            "COLUMNS": "110",
            "PIP_INDEX_URL": index,
            "UV_DEFAULT_INDEX": index,
            "HF_ENDPOINT": sim.url("hf-mirror"),
            "HF_HUB_DISABLE_XET": "1",
            "http_proxy": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "no_proxy": "localhost,127.0.0.1",
            "NO_PROXY": "localhost",
        }
        cmd = [KUAIDI, "doctor", "--root", str(bare), "--only", "proxy,live"]
        text += "\n" + run(cmd, live_env, f"kuaidi doctor --root {bare} --only proxy,live")
    return text


# Per-connection caps as on a GPU box in China (the cn-link profile's): TUNA fast, a 256 KiB/s
# mirror, HF's CDN at 16 MiB/s, origin 1 MiB/s. The wheel and the weights are big enough for the
# rate to settle at the probe's defaults; the small kdemo-lib index page is what TTFB times.
PROBE_MODEL = RepoSpec("kuaidi-sim/probe-model", "config.json:700B,model.safetensors:96MB", seed=21)


def probe() -> str:
    blob = {"options": {"blob_size": 40 * MiB}}
    overrides = {
        "pypi-tuna": {**blob, "conn_rate": 24 * MiB},
        "pypi-ustc": blob,
        "pypi-slow": {**blob, "conn_rate": 256 * KiB},
        "pypi-stale": blob,
        "hf-cdn": {"conn_rate": 16 * MiB},
        "origin-cdn": {"conn_rate": 1 * MiB},
    }
    with Sim("clean", overrides=overrides, repos=[*DEFAULT_REPOS, PROBE_MODEL]) as sim:
        env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "COLUMNS": "120", "HOME": "/tmp"}
        pypi = [
            ("tuna", "pypi-tuna", "/simple"),
            ("ustc", "pypi-ustc", "/simple"),
            ("slow", "pypi-slow", "/simple"),
            ("stale", "pypi-stale", "/pypi/web/simple"),
            ("portal", "pypi-portal", "/simple"),
        ]
        args = [f"{n}={sim.url(h)}{p}" for n, h, p in pypi] + ["down=http://127.0.0.1:9/simple"]
        cmd = [
            KUAIDI,
            "probe",
            "pypi",
            "--package",
            "kdemo-lib",
            "--artifact-package",
            "kdemo-blob",
        ]
        for a in args:
            cmd += ["--candidate", a]
        shown = (
            "kuaidi probe pypi --package kdemo-lib --artifact-package kdemo-blob "
            + " ".join(f"--candidate {n}=<sim {h}>" for n, h, _ in pypi)
            + " --candidate down=http://127.0.0.1:9/simple"
        )
        text = run(cmd, env, shown)
        hf = [
            ("hf-mirror", sim.url("hf-mirror")),
            ("origin", sim.url("origin")),
            ("portal", sim.url("pypi-portal")),
        ]
        for repo in (PROBE_MODEL.repo_id, "kuaidi-sim/demo-model"):
            cmd = [KUAIDI, "probe", "hf", "--repo", repo]
            for n, u in hf:
                cmd += ["--candidate", f"{n}={u}"]
            shown = (
                f"kuaidi probe hf --repo {repo} --candidate hf-mirror=<sim hf-mirror> "
                "--candidate origin=<sim origin> --candidate portal=<sim pypi-portal>"
            )
            if repo != PROBE_MODEL.repo_id:
                shown = "# a 6 MiB file: over before the rate settles\n$ " + shown
            text += "\n" + run(cmd, env, shown)
    return text


if __name__ == "__main__":
    header = "# captured from the sim by docs/captured/capture_doctor_probe.py\n"
    (HERE / "doctor.txt").write_text(header + doctor())
    (HERE / "probe.txt").write_text(header + probe())
