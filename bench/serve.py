"""kuaidi serve vs olah vs nginx, side by side in one run on the sim's ``cn-link`` shape.

Upstream: the sim's HF mirror and its CDN, capped like ``get_vs_peers`` (8 MiB/s per
connection, 48 MiB/s aggregate, 40 ms per request). Per pull-through server (kuaidi serve; olah
0.5.4 in ``.venv-olah``, its upstream the same sim host):

1. first-client time on a cold store: ``hf download`` through the server, against a direct
   ``kuaidi get`` of the same upstream (goal ≤ 1.05×);
2. 8 cold clients at once on a fresh store (curl, every file): the bytes the sim's hosts sent,
   against the model's size; every client's files sha256-checked;
3. the same 8 clients again, warm: aggregate MiB/s and the server's CPU seconds per GiB, against
   nginx (Debian's) serving the same blob files from the direct get's HF cache (goal ≥ 80 %).

``python -m bench serve``; ``KUAIDI_BENCH_SERVE_MIB=64`` for a quick run (default 1024).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench._serve_peers import (
    OLAH_VERSION,
    GiB,
    MiB,
    Running,
    Warm,
    curl_clients,
    free_port,
    olah_argv,
    olah_venv,
    running,
    sha256_file,
    warm_clients,
    write_nginx,
)
from kuaidi.sim import Sim
from kuaidi.sim.content import Catalog, RepoSpec

CAPS = {"conn_rate": 8 * MiB, "total_rate": 48 * MiB, "latency": 0.04}
CLIENTS = 8
BIN = Path(sys.executable).parent


def _spec(mib: int) -> RepoSpec:
    return RepoSpec(
        f"bench/serve-{mib}m", f"config.json:1KB,model.safetensors:{mib}MB", seed=21, revisions=1
    )


def _env(tmp: Path, endpoint: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "http", "HTTP"))}
    return keep | {
        "HF_ENDPOINT": endpoint,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(tmp / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{argv[:2]} failed: {out.stderr[-2000:]}")
    return time.perf_counter() - start


@dataclass
class World:
    sim: Sim
    spec: RepoSpec
    files: dict[str, str]  # path -> sha256
    size: int
    work: Path

    def upstream_bytes(self) -> int:
        return sum(h.bytes_sent for h in self.sim.hosts.values())

    def check_dir(self, root: Path) -> bool:
        return all(sha256_file(root / p) == h for p, h in self.files.items())

    def urls(self, base: str) -> list[str]:
        return [f"{base}/{self.spec.repo_id}/resolve/main/{p}" for p in sorted(self.files)]


def _direct_get(w: World) -> tuple[float, Path, bool]:
    """kuaidi get of the same upstream into an HF cache (the files nginx serves later)."""
    hub = w.work / "direct-hub"
    argv = [
        str(BIN / "kuaidi"),
        "get",
        w.spec.repo_id,
        "--cache-dir",
        str(hub),
        "-q",
        "--endpoint",
        w.sim.url("hf-mirror"),
        "--connections",
        "16",
        "--modelscope-endpoint",
        w.sim.url("modelscope"),
    ]
    seconds = _timed(argv, _env(w.work / "direct", w.sim.url("hf-mirror")))
    folder = hub / ("models--" + w.spec.repo_id.replace("/", "--"))
    (commit,) = [p for p in (folder / "snapshots").iterdir()]
    return seconds, hub, w.check_dir(commit)


def kuaidi_serve_available() -> bool:
    out = subprocess.run(
        [str(BIN / "kuaidi"), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    return out.returncode == 0


Starter = Callable[[World, Path], AbstractContextManager[Running]]


@contextmanager
def start_kuaidi(w: World, store: Path) -> Iterator[Running]:
    port = free_port()
    argv = [
        str(BIN / "kuaidi"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--cache-dir",
        str(store),
        "--endpoint",
        w.sim.url("hf-mirror"),
        "--modelscope-endpoint",
        w.sim.url("modelscope"),
    ]
    env = _env(store.parent / f"{store.name}-home", w.sim.url("hf-mirror"))
    log = store.parent / f"{store.name}.log"
    with running("kuaidi serve", argv, f"http://127.0.0.1:{port}", log, env=env) as srv:
        yield srv


@contextmanager
def start_olah(w: World, store: Path) -> Iterator[Running]:
    port = free_port()
    argv = olah_argv(olah_venv(), port, store, w.sim.url("hf-mirror"), w.sim.url("hf-cdn"))
    log = store.parent / f"{store.name}.log"
    probe = f"/api/models/{w.spec.repo_id}"
    with running(f"olah {OLAH_VERSION}", argv, f"http://127.0.0.1:{port}", log, probe) as srv:
        yield srv


@dataclass
class Result:
    name: str
    first: dict[str, float | None]  # client -> seconds (None: it failed)
    first_ok: bool
    cold_upstream: int
    cold_ok: bool
    warm: Warm


def _first_clients(w: World, base: str, tag: str) -> dict[str, list[str]]:
    """The two first clients: what a lab runs (hf download), and kuaidi get, whose own start-up
    the direct run pays too, so its ratio isolates what the server adds."""
    return {
        "hf download": [str(BIN / "hf"), "download", w.spec.repo_id, "--local-dir"],
        "kuaidi get": [
            str(BIN / "kuaidi"),
            "get",
            w.spec.repo_id,
            "-q",
            "--endpoint",
            base,
            "--connections",
            "16",
            "--modelscope-endpoint",
            "none",
            "--local-dir",
        ],
    }


def measure(w: World, name: str, start: Starter) -> Result:
    tag = name.split()[0]
    first: dict[str, float | None] = {}
    first_ok = True
    for i, client in enumerate(("hf download", "kuaidi get")):
        with start(w, w.work / f"{tag}-first{i}") as srv:
            dest = w.work / f"{tag}-first{i}-out"
            argv = [*_first_clients(w, srv.url, tag)[client], str(dest)]
            try:
                first[client] = _timed(argv, _env(w.work / f"{tag}-first{i}-home", srv.url))
                first_ok &= w.check_dir(dest)
            except RuntimeError as exc:
                first[client] = None
                print(f"  {name}: first client {client} failed: {str(exc)[:300]}", flush=True)
    with start(w, w.work / f"{tag}-cold") as srv:
        sent = w.upstream_bytes()
        dirs = [w.work / f"{tag}-cold-{i}" for i in range(CLIENTS)]
        jobs = []
        for d in dirs:
            d.mkdir()
            jobs.append([(u, d / p) for u, p in zip(w.urls(srv.url), sorted(w.files), strict=True)])
        curl_clients(jobs)
        cold_upstream = w.upstream_bytes() - sent
        cold_ok = all(w.check_dir(d) for d in dirs)
        for d in dirs:
            shutil.rmtree(d)
        warm = warm_clients(srv, w.urls(srv.url), CLIENTS, w.size)
    shown = ", ".join(f"{c} {_s(t)}" for c, t in first.items())
    print(
        f"  {name}: first client {shown}; cold upstream {cold_upstream / MiB:.1f} MiB; "
        f"warm {warm.mib_s:.0f} MiB/s",
        flush=True,
    )
    return Result(name, first, first_ok, cold_upstream, cold_ok, warm)


def _s(seconds: float | None) -> str:
    return "failed" if seconds is None else f"{seconds:.1f}s"


def nginx_warm(w: World, hub: Path) -> Warm:
    folder = hub / ("models--" + w.spec.repo_id.replace("/", "--"))
    (snap,) = [p for p in (folder / "snapshots").iterdir()]
    rels = [(snap / p).resolve().relative_to(hub.resolve()).as_posix() for p in sorted(w.files)]
    argv, base = write_nginx(hub, w.work / "nginx")
    with running("nginx", argv, base, w.work / "nginx" / "run.log", probe="/") as srv:
        return warm_clients(srv, [f"{base}/{r}" for r in rels], CLIENTS, w.size)


def run(out: Path) -> str:
    mib = int(os.environ.get("KUAIDI_BENCH_SERVE_MIB", "1024"))
    spec = _spec(mib)
    # Absolute paths: kuaidi get's path guard can misjudge a relative cache dir while its
    # workers create the snapshot folder concurrently (seen once here as a spurious
    # "would be written outside" error).
    out = out.resolve()
    catalog = Catalog(out / "serve-content", [spec])
    head = catalog.get("model", spec.repo_id).head  # generate before timing anything
    files = {p: f.sha256 for p, f in head.files.items()}
    overrides = {"hf-cdn": dict(CAPS), "hf-mirror": {"latency": CAPS["latency"]}}
    hosts = ["hf-mirror", "hf-cdn", "modelscope"]
    with (
        Sim("cn-link", catalog=catalog, hosts=hosts, overrides=overrides) as sim,
        tempfile.TemporaryDirectory(dir=out, prefix="serve-") as tmp,
    ):
        w = World(sim, spec, files, head.size, Path(tmp).resolve())
        direct, hub, direct_ok = _direct_get(w)
        print(f"  direct kuaidi get: {direct:.1f}s ok={direct_ok}", flush=True)
        servers: list[tuple[str, Starter]] = []
        missing = []
        if kuaidi_serve_available():
            servers.append(("kuaidi serve", start_kuaidi))
        else:
            missing.append("kuaidi serve (not in this checkout)")
        servers.append((f"olah {OLAH_VERSION}", start_olah))
        results = [measure(w, name, start) for name, start in servers]
        nginx = nginx_warm(w, hub)
        print(f"  nginx: warm {nginx.mib_s:.0f} MiB/s", flush=True)
    return report(mib, head.size, direct, direct_ok, results, nginx, missing)


def report(
    mib: int,
    size: int,
    direct: float,
    direct_ok: bool,
    results: list[Result],
    nginx: Warm,
    missing: list[str],
) -> str:
    lines = [
        "## kuaidi serve vs olah vs nginx",
        "",
        f"`python -m bench serve` (`KUAIDI_BENCH_SERVE_MIB={mib}`): one {mib:,} MiB model "
        f"({size / MiB:,.0f} MiB with config and .gitattributes), sim `cn-link` CDN at "
        f"{CAPS['conn_rate'] / MiB:.0f} MiB/s per connection, {CAPS['total_rate'] / MiB:.0f} MiB/s "
        f"aggregate, {CAPS['latency'] * 1000:.0f} ms per request. First client: `hf download` "
        "(and `kuaidi get`, 16 connections) through the server, each on a fresh cold store; "
        "(×) = its time ÷ the direct get's. Cold and warm: 8 curl processes at once, each fetching "
        "every file. nginx: Debian's, 1 worker, sendfile, serving the blob files of the direct "
        "get's HF cache. Server CPU from psutil (process and children).",
        "",
        f"Direct `kuaidi get` of the same upstream (16 connections): **{direct:.1f} s** "
        f"({'verified' if direct_ok else 'NOT byte-exact'}).",
        "",
        "| server | first client `hf download`, cold | `kuaidi get` through it, cold "
        "| upstream bytes, 8 cold clients | ÷ model size | all clients byte-exact "
        "| 8 warm clients MiB/s | % of nginx | server CPU s/GiB |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        ok = "yes" if r.first_ok and r.cold_ok else "NO"
        firsts = " | ".join(
            "failed" if t is None else f"{t:.1f} s ({t / direct:.2f}×)"
            for t in (r.first.get("hf download"), r.first.get("kuaidi get"))
        )
        lines.append(
            f"| {r.name} | {firsts} | "
            f"{r.cold_upstream / MiB:,.1f} MiB | {r.cold_upstream / size:.2f}× | {ok} | "
            f"{r.warm.mib_s:,.0f} | {100 * r.warm.mib_s / nginx.mib_s:.0f} % | "
            f"{r.warm.cpu_per_gib:.2f} |"
        )
    lines.append(
        f"| nginx (static files) | — | — | — | — | — | {nginx.mib_s:,.0f} | 100 % | "
        f"{nginx.cpu_per_gib:.2f} |"
    )
    lines += [""] + [f"Not measured: {m}." for m in missing] + [""]
    lines += [
        f"Goals (issue 14): first client ≤ 1.05× the direct get; upstream ≤ 1.01× the model "
        f"for 8 cold clients; warm throughput ≥ 80 % of nginx. 1 GiB = {GiB:,} bytes.",
        "",
    ]
    return "\n".join(lines)
