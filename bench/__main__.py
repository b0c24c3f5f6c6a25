"""``python -m bench [--quick] [--no-docs] [NAME …]`` — run the suite, update docs/benchmarks.md.

NAME: a scenario of :mod:`bench.scenarios` (``one_shard``, ``flaky``, …) or one of the older
single-purpose modules (``sim_throughput``, ``sim_mirrors``, ``cache_move``, ``get_url``,
``serve``).
No NAME: every scenario, then the older modules (``--quick``: the quick subset of scenarios
only). Each finished section replaces its marked block in docs/benchmarks.md at once, so an
interrupted run keeps what it measured; raw results stay under ``.bench/``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from bench import plots, report
from bench.scenarios import BY_NAME, SCENARIOS
from bench.suite import ScenarioResult, load, peers_for, run_scenario

MODULES = ("sim_throughput", "sim_mirrors", "cache_move", "get_url", "serve")
DOCS = Path("docs")
OUT = Path(".bench")


def _write(name: str, body: str, docs: bool) -> None:
    (OUT / f"{name}.md").write_text(body)
    if docs:
        doc = DOCS / "benchmarks.md"
        doc.write_text(report.replace_section(doc.read_text(), name, body))


def _plots(docs: bool) -> None:
    results: list[ScenarioResult] = []
    for s in SCENARIOS:
        path = OUT / "results" / f"{s.name}.json"
        if path.exists():
            results.append(load(path))
    if results:
        target = DOCS if docs else OUT
        plots.throughput(results, target / "bench-throughput.png")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="the bench-quick subset")
    parser.add_argument("--no-docs", action="store_true", help="write only under .bench/")
    parser.add_argument("names", nargs="*", metavar="NAME")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BY_NAME and n not in MODULES]
    if unknown:
        print(
            f"bench: unknown benchmark(s) {unknown}; choose from: "
            + ", ".join([*BY_NAME, *MODULES]),
            file=sys.stderr,
        )
        return 2
    docs = not args.no_docs
    names = args.names or [
        *(s.name for s in SCENARIOS if not args.quick or peers_for(s, True)),
        *(() if args.quick else MODULES),
    ]
    OUT.mkdir(exist_ok=True)
    _write("machine", report.machine(), docs)
    for name in names:
        print(f"== bench {name}", flush=True)
        if name in MODULES:
            body = importlib.import_module(f"bench.{name}").run(OUT)
            _write(name, body, docs)
            continue
        scenario = BY_NAME[name]
        res = run_scenario(scenario, OUT, quick=args.quick)
        pictures = []
        if scenario.plot_bytes:
            png = (DOCS if docs else OUT) / f"bench-{name}.png"
            plots.bytes_over_time(res, png)
            pictures.append(png.name)
        body = report.section(scenario, res, pictures)
        _write(name, body, docs)
        print(body, flush=True)
        _plots(docs)
    print(f"sections written to {OUT}/" + (" and docs/benchmarks.md" if docs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
