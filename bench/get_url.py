"""`kuaidi get URL` vs `curl -O` vs `aria2c -x 16` vs `wget` on the sim's capped link.

One file (128 MiB) on an NJU-style release mirror with a CDN-like cap per connection (4 MiB/s)
and in total (48 MiB/s), reached directly over plain HTTP; one run per tool, tools alternating
(each run starts from an empty directory). Wall time from process start to exit.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from kuaidi.sim import Sim
from kuaidi.sim.github_mirror import mirror_hosts

MiB = 1 << 20
SIZE = 128 * MiB
RELEASES = {"kuaidi-sim/hello-pkg": {"v0.1.0": {"bench.bin": SIZE}}}
KUAIDI = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "kuaidi"


def _commands(url: str, out: Path) -> dict[str, list[str]]:
    return {
        "kuaidi get URL -n 16": [str(KUAIDI), "get", url, "-o", str(out), "-n", "16", "-q"],
        "curl -O": ["curl", "-sS", "-o", str(out), url],
        "aria2c -x 16 -s 16": [
            "aria2c", "-q", "-x", "16", "-s", "16", "-d", str(out.parent), "-o", out.name, url,
        ],
        "wget": ["wget", "-q", "-O", str(out), url],
    }  # fmt: skip


def run(out_dir: Path) -> str:
    overrides = mirror_hosts(releases=RELEASES)
    overrides["gh-mirror"].update({"conn_rate": 4 * MiB, "total_rate": 48 * MiB})
    rows = []
    with Sim("clean", overrides=overrides, hosts=["gh-mirror"]) as sim:
        url = sim.url("gh-mirror") + "/github-release/kuaidi-sim/hello-pkg/v0.1.0/bench.bin"
        want = None
        for name in _commands(url, Path("x")):
            if shutil.which(_commands(url, Path("x"))[name][0]) is None:
                rows.append((name, None, "not installed"))
                continue
            with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
                target = Path(tmp) / "bench.bin"
                t0 = time.monotonic()
                proc = subprocess.run(
                    _commands(url, target)[name], capture_output=True, timeout=600
                )
                seconds = time.monotonic() - t0
                digest = hashlib.sha256(target.read_bytes()).hexdigest() if target.exists() else ""
                want = want or digest
                ok = proc.returncode == 0 and digest == want
                rows.append((name, seconds, "ok" if ok else f"FAILED rc={proc.returncode}"))
    lines = [
        "## kuaidi get URL vs curl, aria2c, wget (sim, capped link)",
        "",
        f"One {SIZE // MiB} MiB file on the sim's release mirror (4 MiB/s per connection, "
        "48 MiB/s total, plain HTTP, direct); one run per tool, alternating.",
        "",
        "| tool | seconds | MiB/s | result |",
        "|---|---:|---:|---|",
    ]
    for name, seconds, result in rows:
        if seconds is None:
            lines.append(f"| {name} | – | – | {result} |")
        else:
            lines.append(f"| {name} | {seconds:.1f} | {SIZE / MiB / seconds:.1f} | {result} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(Path(tempfile.mkdtemp())))
