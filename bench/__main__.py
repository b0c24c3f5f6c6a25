"""Run the benchmark modules: ``python -m bench`` (all) or ``python -m bench sim_throughput``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import bench


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name[0] != "_")
    out = Path(".bench")
    out.mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== bench {name}", flush=True)
        section = module.run(out)
        (out / f"{name}.md").write_text(section)
        print(section, flush=True)
    print(f"sections written to {out}/; copy them into docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
