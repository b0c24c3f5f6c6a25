"""Sim throughput: is the sim ever the bottleneck? Unthrottled sim vs curl, 1 and 32 streams.

Also checks that the token buckets hold a configured rate (single stream and aggregate).
Content: the ``bench-2g`` preset (2 × 1 GiB shards), generated once in the user cache.
"""

from __future__ import annotations

import platform
import resource
import shutil
import subprocess
import time
from pathlib import Path

from kuaidi.sim import Sim
from kuaidi.sim.cdn import signed_url
from kuaidi.sim.content import RepoSpec, default_cache_dir

REPO = RepoSpec("kuaidi-bench/bench-2g", "bench-2g", seed=42, revisions=1)
SHARD = "model-00001-of-00002.safetensors"
MiB = 1024 * 1024


def _curl(url: str, rng: str | None = None) -> list[str]:
    cmd = ["curl", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w", "%{size_download}"]
    if rng:
        cmd += ["-r", rng]
    return [*cmd, url]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_streams(cmds: list[list[str]]) -> tuple[int, float, float]:
    """(bytes, seconds, curl CPU seconds) for commands run in parallel."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
    total = 0
    for p in procs:
        out, _ = p.communicate(timeout=600)
        total += int(float(out or 0))
    return total, time.perf_counter() - t0, _children_cpu() - cpu0


def _measure(sim: Sim, url: str, size: int, streams: int) -> dict[str, float]:
    cpu0 = time.process_time()  # the sim runs in this process
    if streams == 1:
        cmds = [_curl(url)]
    else:
        step = size // streams
        cmds = [
            _curl(url, f"{i * step}-{size - 1 if i == streams - 1 else (i + 1) * step - 1}")
            for i in range(streams)
        ]
    got, secs, curl_cpu = _run_streams(cmds)
    assert got == size, (got, size)
    return {
        "mbs": got / MiB / secs,
        "secs": secs,
        "sim_cpu": time.process_time() - cpu0,
        "curl_cpu": curl_cpu,
    }


def run(out: Path) -> str:
    if shutil.which("curl") is None:
        return "## Sim throughput\n\ncurl is not installed; skipped.\n"
    t0 = time.perf_counter()
    sim = Sim("clean", repos=[REPO], cache_dir=default_cache_dir(), hosts=["hf-mirror", "hf-cdn"])
    gen_secs = time.perf_counter() - t0
    f = sim.catalog.get("model", REPO.repo_id).head.files[SHARD]  # type: ignore[union-attr]
    rows = []
    with sim:
        url = signed_url(sim.hosts["hf-cdn"], f.sha256, f.path)
        # warm the page cache so disk is not what we measure
        subprocess.run(["cat", str(f.blob_path)], stdout=subprocess.DEVNULL, check=True)
        file_url = f"file://{f.blob_path}"
        base = _run_streams([_curl(file_url)])
        rows.append(("curl file:// (curl's own ceiling)", 1, base[0] / MiB / base[1], "-", base[2]))
        for streams in (1, 32):
            m = _measure(sim, url, f.size, streams)
            rows.append(("sim, unthrottled", streams, m["mbs"], m["sim_cpu"], m["curl_cpu"]))
    # throttled: does the bucket hold the rate?
    limits = []
    for conn_rate, total_rate, streams in ((8 * MiB, None, 1), (None, 16 * MiB, 8)):
        tsim = Sim(
            "clean",
            repos=[REPO],
            cache_dir=default_cache_dir(),
            hosts=["hf-cdn"],
            overrides={"hf-cdn": {"conn_rate": conn_rate, "total_rate": total_rate}},
        )
        with tsim:
            url = signed_url(tsim.hosts["hf-cdn"], f.sha256, f.path)
            want = 48 * MiB
            step = want // streams
            cmds = [_curl(url, f"{i * step}-{(i + 1) * step - 1}") for i in range(streams)]
            got, secs, _ = _run_streams(cmds)
            target = (conn_rate or total_rate or 1) / MiB
            label = (
                f"{target:.0f} MiB/s per connection" if conn_rate else f"{target:.0f} MiB/s total"
            )
            limits.append((label, streams, got / MiB / secs, target))
    lines = [
        "## Sim throughput",
        "",
        f"`python -m bench sim_throughput` — {platform.machine()}, 2 cores shared with curl,"
        f" loopback, file in page cache; content generated in {gen_secs:.1f} s (cached after the"
        " first run). Sim CPU is this process's CPU time while serving (the sim runs in-process).",
        f"One {f.size / MiB:.0f} MiB shard from the `hf-cdn` host (signed URL, `socket.sendfile`);"
        " 32 streams = 32 curl processes with disjoint Ranges.",
        "",
        "| client | streams | MiB/s | sim CPU s | curl CPU s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, streams, mbs, sim_cpu, curl_cpu in rows:
        sc = sim_cpu if isinstance(sim_cpu, str) else f"{sim_cpu:.2f}"
        lines.append(f"| {name} | {streams} | {mbs:,.0f} | {sc} | {curl_cpu:.2f} |")
    lines += [
        "",
        "Throttle accuracy (48 MiB fetched):",
        "",
        "| limit | streams | measured MiB/s | target MiB/s |",
        "|---|---:|---:|---:|",
    ]
    for label, streams, mbs, target in limits:
        lines.append(f"| {label} | {streams} | {mbs:.1f} | {target:.0f} |")
    lines.append("")
    return "\n".join(lines)
