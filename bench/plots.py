"""PNG plots for docs/benchmarks.md (matplotlib, from the bench extra): bytes on disk over time
per tool on the flaky link, and throughput per tool per scenario."""

from __future__ import annotations

from pathlib import Path

from bench.report import wall
from bench.suite import ScenarioResult

MiB = 1 << 20


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def bytes_over_time(res: ScenarioResult, path: Path) -> Path:
    """One line per tool (first run of each case): MiB on disk against seconds."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, case in enumerate(res.cases):
        style = "-" if i == 0 else "--"  # the faulted case solid, its fault-free twin dashed
        for tool, runs in case.runs.items():
            if not runs or not runs[0].samples:
                continue
            xs = [t for t, _ in runs[0].samples]
            ys = [min(b, case.size) / MiB for _, b in runs[0].samples]
            label = f"{tool} ({case.label})" if case.label else tool
            ax.plot(xs, ys, style, label=label, linewidth=1.4)
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("MiB on disk")
    ax.set_title(f"bytes over time — {res.name} ({res.mode} run, {res.date})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def throughput(results: list[ScenarioResult], path: Path) -> Path:
    """Horizontal bars: median MiB/s of every tool in every scenario (a panel each)."""
    plt = _pyplot()
    panels = [r for r in results if r.cases]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.1 + 0.32 * _rows(panels)), squeeze=False)
    for ax, res in zip([a[0] for a in axes], panels, strict=True):
        labels, values = [], []
        for case in res.cases:
            for tool, runs in case.runs.items():
                t = wall(runs)
                labels.append(f"{tool} ({case.label})" if case.label else tool)
                values.append(case.size / MiB / t if t == t else 0.0)
        colors = ["tab:red" if lab.startswith("kuaidi") else "tab:gray" for lab in labels]
        ax.barh(labels, values, color=colors)
        ax.invert_yaxis()
        ax.set_title(f"{res.name} ({res.mode})", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.set_xlabel("MiB/s (0 = failed)", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _rows(results: list[ScenarioResult]) -> int:
    return sum(len(c.runs) + 3 for r in results for c in r.cases)
