"""Run a scenario: one sim shaped like its link, peers alternating (A B C A B C), every run
measured by :mod:`bench.measure`; results go to ``.bench/results/<name>.json``.

Repetitions: every peer runs once per case; a second and third round follow only for the
(case, peer) pairs whose first run took under a minute. A fresh output directory per run; the
faults' counters are reset before each run, so every run of a tool meets the same faults.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Result, run_once
from bench.peers import Job, Peer
from bench.scenarios import Case, Scenario
from kuaidi.sim import Sim
from kuaidi.sim.content import Catalog

SHAPED_HOSTS = ("hf-cdn", "modelscope")  # the hosts that send file bytes
LONG_RUN = 60.0  # runs at least this long are not repeated


@dataclass
class CaseResult:
    label: str
    size: int
    files: int
    runs: dict[str, list[Result]] = field(default_factory=dict)


@dataclass
class ScenarioResult:
    name: str
    mode: str  # full | quick
    date: str
    cases: list[CaseResult]
    seconds: float = 0.0


def peers_for(scenario: Scenario, quick: bool) -> list[Peer]:
    if not quick:
        return list(scenario.peers)
    return [p for p in scenario.peers if p.name in scenario.quick]


def _sim(scenario: Scenario, catalog: Catalog) -> Sim:
    link = scenario.link.host()
    overrides: dict[str, dict[str, object]] = {h: dict(link) for h in SHAPED_HOSTS}
    overrides["hf-mirror"] = {"latency": scenario.link.latency}
    return Sim(
        "clean",
        catalog=catalog,
        hosts=["hf-mirror", "hf-cdn", "modelscope"],
        overrides=overrides,
        seed=13,
    )


def _arm(sim: Sim, case: Case) -> None:
    for name in SHAPED_HOSTS:
        faults = sim.host(name).faults
        faults.clear()
        if case.faults:
            faults.add(*case.faults)


def _fired(sim: Sim) -> str:
    hosts = [sim.host(h).faults for h in SHAPED_HOSTS]
    counts = {k: sum(f.fired_count(k) for f in hosts) for k in ("stall", "reset")}
    return ", ".join(f"{n} {k}{'s' * (n > 1)}" for k, n in counts.items() if n)


def _one(
    scenario: Scenario, sim: Sim, case: Case, peer: Peer, expected: dict[str, str], tmp: Path
) -> Result:
    work = Path(tempfile.mkdtemp(prefix="run-", dir=tmp))
    paths = tuple(sorted(expected))
    job = Job(case.spec.repo_id, paths, sim.url("hf-mirror"), sim.url("modelscope"), work)
    size = sum(sim.catalog.get("model", case.spec.repo_id).head.files[p].size for p in paths)  # type: ignore[union-attr]
    try:
        _arm(sim, case)
        if scenario.kind == "resume":
            first = run_once(peer, job, sim, expected, timeout=scenario.timeout, kill_at=size // 2)
            second = run_once(peer, job, sim, expected, timeout=scenario.timeout)
            second.served += first.served
            second.conns += first.conns
            second.note = "; ".join(n for n in (first.note, second.note) if n)
            result = second
        else:
            result = run_once(
                peer, job, sim, expected, timeout=scenario.timeout, sample=scenario.plot_bytes
            )
        fired = _fired(sim)
        if fired:
            result.note = "; ".join(n for n in (fired, result.note) if n)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_scenario(scenario: Scenario, out: Path, *, quick: bool = False) -> ScenarioResult:
    """Run every case of ``scenario`` with its peers (the quick subset if ``quick``)."""
    started = time.perf_counter()
    peers = peers_for(scenario, quick)
    catalog = Catalog(out / "content", [c.spec for c in scenario.cases])  # generated once
    tmp = out / "runs"
    tmp.mkdir(parents=True, exist_ok=True)
    cases: list[CaseResult] = []
    expected: dict[str, dict[str, str]] = {}
    for case in scenario.cases:
        files = catalog.get("model", case.spec.repo_id).head.files  # type: ignore[union-attr]
        expected[case.label] = {p: f.sha256 for p, f in files.items()}
        size = sum(f.size for f in files.values())
        cases.append(CaseResult(case.label, size, len(files), {p.name: [] for p in peers}))
    reps = 1 if quick else scenario.reps
    with _sim(scenario, catalog) as sim:
        for rep in range(reps):
            for case, result in zip(scenario.cases, cases, strict=True):
                for peer in peers:
                    runs = result.runs[peer.name]
                    if rep > 0 and runs and runs[0].wall >= LONG_RUN:
                        continue
                    r = _one(scenario, sim, case, peer, expected[case.label], tmp)
                    runs.append(r)
                    label = f" [{case.label}]" if case.label else ""
                    print(
                        f"  {scenario.name}{label} {peer.name}: {r.wall:.1f}s "
                        f"{result.size / (1 << 20) / r.wall:.1f} MiB/s conns={r.conns} "
                        f"served={r.served / result.size:.3f}x rss={r.rss >> 20}MiB "
                        f"cpu={r.cpu:.1f}s ok={r.ok} {r.note}",
                        flush=True,
                    )
    res = ScenarioResult(
        scenario.name,
        "quick" if quick else "full",
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        cases,
        time.perf_counter() - started,
    )
    save(res, out)
    return res


def save(res: ScenarioResult, out: Path) -> Path:
    path = out / "results" / f"{res.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(res), indent=1))
    return path


def load(path: Path) -> ScenarioResult:
    raw = json.loads(path.read_text())
    cases = [
        CaseResult(
            c["label"],
            c["size"],
            c["files"],
            {t: [Result(**r) for r in runs] for t, runs in c["runs"].items()},
        )
        for c in raw["cases"]
    ]
    for c in cases:  # JSON turns the sample tuples into lists
        for runs in c.runs.values():
            for r in runs:
                r.samples = [(float(a), int(b)) for a, b in r.samples]
    return ScenarioResult(raw["name"], raw["mode"], raw["date"], cases, raw.get("seconds", 0.0))
