"""Many small files (a sharded dataset): kuaidi get vs `hf download`, and connection reuse.

500 files of 2 KB behind a mirror with a 30 ms answer time — per-file round trips, not
bandwidth, decide the time. Each tool runs in its own process against the sim (which runs in
this one); every result is sha256-checked; the sim's log counts the TCP connections each tool
opened. ``python -m bench many_files``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.get_vs_peers import BIN, _env, _run
from kuaidi.sim import Sim
from kuaidi.sim.content import Catalog, RepoSpec

N_FILES = 500
LATENCY = 0.03
SPEC = RepoSpec(
    "bench/many-small",
    [(f"data/part-{i:05d}.json", 2000) for i in range(N_FILES)],
    repo_type="dataset",
    seed=31,
    revisions=1,
)


def _check(root: Path, sim: Sim) -> bool:
    commit = sim.catalog.get("dataset", SPEC.repo_id).head
    return all((root / p).read_bytes() == f.blob_path.read_bytes() for p, f in commit.files.items())


def _tool(name: str, sim: Sim, tmp: Path) -> tuple[float, int, bool, int]:
    ep = sim.url("hf-mirror")
    dest = tmp / name
    if name == "kuaidi":
        argv = [str(BIN / "kuaidi"), "get", SPEC.repo_id, "--repo-type", "dataset", "-q"]
        argv += ["--local-dir", str(dest), "--endpoint", ep, "--modelscope-endpoint", "none"]
    else:
        argv = [str(BIN / "hf"), "download", SPEC.repo_id, "--repo-type", "dataset"]
        argv += ["--local-dir", str(dest)]
    before = {e.client for e in sim.log("hf-mirror").entries}
    seconds, rss = _run(argv, _env(tmp, ep))
    conns = len({e.client for e in sim.log("hf-mirror").entries} - before)
    return seconds, rss, _check(dest, sim), conns


def run(out: Path) -> str:
    catalog = Catalog(out / "many_files-content", [SPEC])
    catalog.get("dataset", SPEC.repo_id)
    rows = []
    with Sim(
        "clean", catalog=catalog, hosts=["hf-mirror"], overrides={"hf-mirror": {"latency": LATENCY}}
    ) as sim:
        for name in ("kuaidi", "hf"):
            with tempfile.TemporaryDirectory(dir=out) as d:
                seconds, rss, ok, conns = _tool(name, sim, Path(d))
            rows.append((name, seconds, rss, ok, conns))
            print(f"  {name}: {seconds:.2f}s conns={conns} ok={ok}", flush=True)
    hf_seconds = next(r[1] for r in rows if r[0] == "hf")
    lines = [
        "## Many small files",
        "",
        f"`python -m bench many_files` — a dataset of {N_FILES} files of 2 KB, mirror answering "
        f"in {LATENCY * 1000:.0f} ms; both tools with their default parallelism (kuaidi 8 "
        "connections, `hf download` 8 workers), into `--local-dir`; every file byte-checked.",
        "",
        "| tool | seconds | files/s | TCP connections | hf ÷ tool | peak RSS | verified |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, seconds, rss, ok, conns in rows:
        lines.append(
            f"| {name} | {seconds:.2f} | {N_FILES / seconds:.0f} | {conns} | "
            f"{hf_seconds / seconds:.2f}× | {rss / 1024:.0f} MiB | {'yes' if ok else 'NO'} |"
        )
    return "\n".join([*lines, ""])
