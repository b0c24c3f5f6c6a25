"""One file from two sources at once: hf-mirror + ModelScope, each capped at half the link.

The mirror's CDN and the ModelScope host each get an aggregate cap of half the link (and a
per-connection cap, an RTT); the same model is fetched three times into a fresh directory —
``--source mirror``, ``--source modelscope``, then both (kuaidi's default: a large file whose
sha256 both sources list is spread over them, weighted by measured speed). Every result is
sha256-checked. ``python -m bench multi_source``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.get_vs_peers import BIN, _check, _env, _run
from kuaidi.sim import Sim
from kuaidi.sim.content import Catalog, RepoSpec

MiB = 1024 * 1024
LINK = 64 * MiB
HALF = {"total_rate": LINK // 2, "conn_rate": 8 * MiB, "latency": 0.02}
FAST = {"total_rate": 48 * MiB, "conn_rate": 12 * MiB, "latency": 0.02}
SLOW = {"total_rate": 16 * MiB, "conn_rate": 4 * MiB, "latency": 0.02}
SPEC = RepoSpec(
    "bench/two-sources-768m",
    "config.json:1KB,model-00001-of-00002.safetensors:512MB,model-00002-of-00002.safetensors:256MB",
    seed=21,
    revisions=1,
    modelscope_id="bench/two-sources-768m",
)
RUNS = (("mirror only", ["--source", "mirror"]), ("ModelScope only", ["--source", "modelscope"]))
RUNS += (("both (default)", []),)


def _kuaidi(sim: Sim, tmp: Path, extra: list[str]) -> tuple[float, int, bool]:
    dest = tmp / "out"
    argv = [str(BIN / "kuaidi"), "get", SPEC.repo_id, "--local-dir", str(dest), "-q"]
    argv += ["--endpoint", sim.url("hf-mirror"), "--modelscope-endpoint", sim.url("modelscope")]
    argv += ["--connections", "8", *extra]
    seconds, rss = _run(argv, _env(tmp, sim.url("hf-mirror")))
    return seconds, rss, _check(dest, sim, SPEC)


def _scenario(catalog: Catalog, mirror: dict, ms: dict) -> list[tuple]:  # type: ignore[type-arg]
    size = catalog.get("model", SPEC.repo_id).head.size
    rows = []
    overrides = {"hf-cdn": mirror, "modelscope": ms, "hf-mirror": {"latency": 0.02}}
    hosts = ["hf-mirror", "hf-cdn", "modelscope"]
    with Sim("cn-link", catalog=catalog, hosts=hosts, overrides=overrides) as sim:
        for name, extra in RUNS:
            with tempfile.TemporaryDirectory(dir=catalog.cache_dir.parent) as d:
                seconds, rss, ok = _kuaidi(sim, Path(d), extra)
            rows.append((name, seconds, size / MiB / seconds, rss, ok))
            print(f"  {name}: {seconds:.1f}s {rows[-1][2]:.1f} MiB/s ok={ok}", flush=True)
    return rows


def _table(title: str, rows: list[tuple]) -> list[str]:  # type: ignore[type-arg]
    best_single = max(r[2] for r in rows[:2])
    lines = [
        title,
        "",
        "| sources | seconds | MiB/s | ÷ faster single source | peak RSS | verified |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, seconds, speed, rss, ok in rows:
        lines.append(
            f"| {name} | {seconds:.1f} | {speed:.1f} | {speed / best_single:.2f}× | "
            f"{rss / 1024:.0f} MiB | {'yes' if ok else 'NO'} |"
        )
    return [*lines, ""]


def run(out: Path) -> str:
    catalog = Catalog(out / "multi_source-content", [SPEC])
    size = catalog.get("model", SPEC.repo_id).head.size  # generate before timing anything
    even = _scenario(catalog, dict(HALF), dict(HALF))
    uneven = _scenario(catalog, dict(FAST), dict(SLOW))
    lines = [
        "## Multi-source download (ModelScope + mirror)",
        "",
        f"`python -m bench multi_source` — a {size / MiB:,.0f} MiB model (two shards) listed with "
        f"the same sha256 by the sim's hf-mirror and ModelScope; `kuaidi get --connections 8`, "
        "once per source (`--source mirror`, `--source modelscope`) and once with both (the "
        "default); every result sha256-checked.",
        "",
        *_table(
            f"Each source capped at half of a {LINK / MiB:.0f} MiB/s link "
            f"({HALF['total_rate'] / MiB:.0f} MiB/s aggregate, {HALF['conn_rate'] / MiB:.0f} "
            f"MiB/s per connection, {HALF['latency'] * 1000:.0f} ms per request) — target: both "
            "≥ 1.8× the faster single source:",
            even,
        ),
        *_table(
            f"Uneven: mirror {FAST['total_rate'] / MiB:.0f} MiB/s "
            f"({FAST['conn_rate'] / MiB:.0f} per connection), ModelScope "
            f"{SLOW['total_rate'] / MiB:.0f} MiB/s ({SLOW['conn_rate'] / MiB:.0f} per "
            "connection) — the split follows measured speed (sum of the caps: "
            f"{(FAST['total_rate'] + SLOW['total_rate']) / MiB:.0f} MiB/s):",
            uneven,
        ),
    ]
    return "\n".join(lines)
