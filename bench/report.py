"""Markdown for docs/benchmarks.md: a table per scenario, the goal it measures, and the marked
sections (``<!-- bench:NAME -->`` … ``<!-- /bench:NAME -->``) a rerun replaces in place."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench.measure import Result
from bench.scenarios import Scenario
from bench.suite import CaseResult, ScenarioResult

MiB = 1 << 20
GiB = 1 << 30
KUAIDI_CONNECTIONS = 16


def replace_section(doc: str, name: str, body: str) -> str:
    """``doc`` with the marked section ``name`` set to ``body`` (appended if it is not there)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(doc):
        return pattern.sub(lambda _: block, doc, count=1)
    return doc.rstrip("\n") + "\n\n" + block + "\n"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _ok(runs: list[Result]) -> list[Result]:
    return [r for r in runs if r.ok]


def wall(runs: list[Result]) -> float:
    """Median wall of the verified runs (NaN if none)."""
    return _median([r.wall for r in _ok(runs)])


def _kuaidi(case: CaseResult) -> str | None:
    return next((t for t in case.runs if t.startswith("kuaidi")), None)


def _fmt_wall(runs: list[Result]) -> str:
    good = sorted(r.wall for r in _ok(runs))
    if not good:
        return "failed"
    med = statistics.median(good)
    spread = f" ({good[0]:.1f}–{good[-1]:.1f})" if len(good) > 1 else ""
    return f"{med:.1f}{spread}"


def _verified(runs: list[Result]) -> str:
    good = len(_ok(runs))
    return "yes" if good == len(runs) else f"{good}/{len(runs)}"


def _row(s: Scenario, case: CaseResult, tool: str, ref: float | None) -> list[str]:
    runs = case.runs[tool]
    t = wall(runs)
    speed = case.size / MiB / t if t == t else float("nan")
    cap = s.cap_mib
    cells = [tool, f"{len(runs)}", _fmt_wall(runs)]
    cells.append(f"{speed:,.1f}" if speed == speed else "—")
    cells.append(f"{100 * speed / cap:.0f} %" if cap and speed == speed else "—")
    cells.append(f"{t / ref:.2f}×" if ref and t == t else "—")
    served = _median([float(r.served) for r in runs])
    if s.kind == "resume":
        cells.append(f"{served / case.size:.3f}")
    else:
        cells.append(f"{max(0.0, served - case.size) / MiB:,.1f} MiB")
    cells.append(f"{_median([float(r.conns) for r in runs]):.0f}")
    cells.append(f"{max(r.rss for r in runs) / MiB:.0f} MiB")
    cpu = _median([r.cpu for r in runs])
    cells.append(f"{cpu:.1f}")
    if s.name == "loopback":
        cells.append(f"{cpu / (case.size / GiB):.2f}")
    if s.kind == "resume":
        cells.append(f"{max(r.orphans for r in runs) / MiB:,.0f} MiB")
    cells.append(_verified(runs))
    notes = sorted({r.note for r in runs if r.note})
    cells.append("; ".join(notes)[:200].replace("|", "/") or "")
    return cells


def _header(s: Scenario) -> list[str]:
    cols = ["tool", "runs", "wall s (median, min–max)", "MiB/s", "% of cap", "time ÷ kuaidi's"]
    cols.append("bytes served ÷ repo" if s.kind == "resume" else "re-fetched")
    cols += ["TCP conns", "peak RSS", "CPU s"]
    if s.name == "loopback":
        cols.append("CPU s/GiB")
    if s.kind == "resume":
        cols.append("left-over files")
    cols += ["verified", "notes"]
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]


def table(s: Scenario, case: CaseResult) -> list[str]:
    ref_tool = _kuaidi(case)
    ref = wall(case.runs[ref_tool]) if ref_tool else None
    ref = ref if ref == ref else None
    lines = _header(s)
    for tool in case.runs:
        lines.append("| " + " | ".join(_row(s, case, tool, ref)) + " |")
    return lines


def behind(s: Scenario, case: CaseResult) -> list[str]:
    """A measured sentence for every peer that beat kuaidi (the row stays in the table)."""
    ref_tool = _kuaidi(case)
    if ref_tool is None or s.kind in ("sources", "memory"):
        return []
    k = case.runs[ref_tool]
    kt = wall(k)
    out = []
    for tool, runs in case.runs.items():
        t = wall(runs)
        if tool == ref_tool or t != t or (kt == kt and t >= kt):
            continue
        if kt != kt:
            out.append(f"- {tool} finished and kuaidi did not: {sorted({r.note for r in k})}.")
            continue
        conns, kconns = (_median([float(r.conns) for r in x]) for x in (runs, k))
        cpu, kcpu = (_median([r.cpu for r in x]) for x in (runs, k))
        refetch = max(0.0, _median([float(r.served) for r in k]) - case.size) / MiB
        out.append(
            f"- **{tool} is ahead of kuaidi** by {100 * (kt / t - 1):.1f} % ({t:.1f} s vs "
            f"{kt:.1f} s): it used {conns:.0f} TCP connections to kuaidi's {kconns:.0f}, "
            f"{cpu:.1f} CPU s to kuaidi's {kcpu:.1f} (kuaidi also hashes every byte), and "
            f"kuaidi re-fetched {refetch:.1f} MiB."
        )
    return out


def goals(s: Scenario, res: ScenarioResult) -> list[str]:
    """The issue-13 goal this scenario measures, with the number and met / missed."""

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**missed**"

    c = res.cases[0]
    k = _kuaidi(c)
    kt = wall(c.runs[k]) if k else float("nan")
    out: list[str] = []
    if s.name in ("one_shard", "four_shards") and k:
        pct = 100 * c.size / MiB / kt / (s.cap_mib or 1)
        x16 = wall(c.runs.get("aria2c -x16", []))
        ratio = x16 / kt if x16 == x16 else float("nan")
        out.append(f"Goal 1 (≥ 98 % of cap, ≥ 1.0× aria2c -x16): {pct:.0f} %, {ratio:.2f}× — "
                   f"{verdict(pct >= 98 and ratio >= 1.0)}.")  # fmt: skip
    if s.name == "flaky" and len(res.cases) == 2 and k:
        clean = wall(res.cases[1].runs[k])
        pct = 100 * clean / kt
        out.append(f"Goal 2 (with faults ≥ 90 % of the speed without): {pct:.0f} % "
                   f"({kt:.1f} s vs {clean:.1f} s) — {verdict(pct >= 90)}.")  # fmt: skip
    if s.name == "small_files" and k and "hf" in c.runs:
        ratio = kt / wall(c.runs["hf"])
        out.append(f"Goal 3 (≤ 1/5 of hf download's time): {ratio:.2f} of hf's — "
                   f"{verdict(ratio <= 0.2)}.")  # fmt: skip
    if s.name == "loopback" and k:
        cpu = _median([r.cpu for r in c.runs[k]]) / (c.size / GiB)
        x16 = wall(c.runs.get("aria2c -x16", []))
        out.append(f"Goal 4 (≤ 1.7 CPU s/GiB incl. sha256, wall ≤ 1.0× aria2c -x16): "
                   f"{cpu:.2f} CPU s/GiB, {kt / x16:.2f}× aria2c's wall — "
                   f"{verdict(cpu <= 1.7 and kt <= x16)}.")  # fmt: skip
    if s.kind == "memory":
        big = res.cases[-1]
        rss = max((r.rss for r in big.runs.get("kuaidi", [])), default=0) / 1e6
        out.append(f"Goal 6 (peak RSS ≤ 150 MB for 10 GB at 16 connections): {rss:.0f} MB — "
                   f"{verdict(0 < rss <= 150)}.")  # fmt: skip
    if s.kind == "resume" and k:
        ratio = _median([float(r.served) for r in c.runs[k]]) / c.size
        out.append(f"Goal 7 (re-fetch ≤ 1 % after kill -9 at 50 %): {100 * (ratio - 1):.1f} % — "
                   f"{verdict(ratio <= 1.01)}.")  # fmt: skip
    for case in res.cases:
        kk = _kuaidi(case)
        if kk and s.kind not in ("sources", "resume"):
            conns = max(r.conns for r in case.runs[kk])
            limit = KUAIDI_CONNECTIONS + case.files
            label = f" [{case.label}]" if case.label else ""
            out.append(f"Goal 5{label} (≤ --connections + files = {limit} TCP connections): "
                       f"{conns} — {verdict(conns <= limit)}.")  # fmt: skip
    return out


def section(s: Scenario, res: ScenarioResult, plots: list[str]) -> str:
    c0 = res.cases[0]
    lines = [
        f"## {s.title}",
        "",
        f"`python -m bench {s.name}` — {res.mode} run, {res.date}, {res.seconds / 60:.1f} min. "
        f"Link on the sim's CDN and ModelScope hosts: {s.link.describe()}. "
        f"Repo: {c0.files} files, {c0.size / MiB:,.0f} MiB.",
        "",
    ]
    for case in res.cases:
        if case.label:
            lines += [f"**{case.label}** ({case.files} files, {case.size / MiB:,.0f} MiB)", ""]
        lines += [*table(s, case), ""]
        extra = behind(s, case)
        if extra:
            lines += [*extra, ""]
    lines += [f"- {g}" for g in goals(s, res)]
    lines += ["", *[f"![{p}]({p})" for p in plots], *s.notes]
    return "\n".join(lines).rstrip() + "\n"


def _version(argv: list[str]) -> str:
    if not shutil.which(argv[0]) and not os.path.exists(argv[0]):
        return "missing"
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    return (out.strip().splitlines() or ["?"])[0]


def machine() -> str:
    """One paragraph on where the numbers come from."""
    cpu = "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GiB
    binp = Path(sys.executable).parent
    ms = "import modelscope, huggingface_hub as h; print(modelscope.__version__, h.__version__)"
    versions = _version([sys.executable, "-c", ms]).split()
    return (
        f"**Machine**: {platform.machine()} {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, "
        f"Linux {platform.release()}, Python {platform.python_version()}. Peers: "
        f"{_version([str(binp / 'kuaidi'), '--version'])}; "
        f"huggingface_hub {versions[1] if len(versions) > 1 else '?'} (`hf download`); "
        f"modelscope {versions[0] if versions else '?'}; {_version(['aria2c', '--version'])}; "
        f"{' '.join(_version(['curl', '--version']).split()[:2])}. The sim runs in the bench "
        "process on the same cores, over loopback; no real network."
    )
