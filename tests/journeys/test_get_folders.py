"""Journey: a dataset's folder, named the ways docs/get.md and ``hf download`` users write it."""

from __future__ import annotations

from pathlib import Path

from kuaidi.sim import Sim
from tests.journeys.conftest import DATASET, base_env, expected, read_tree, run_kuaidi

DATA = sorted(p for p in ["data/train.csv", "data/test.csv", "data/train-00000.parquet"])


def test_a_folder_selects_what_is_under_it(sim: Sim, home: Path, tmp_path: Path) -> None:
    env = base_env(home, sim)
    want = expected(sim, DATASET, "dataset")
    forms = [
        ["get", DATASET, "data/", "--repo-type", "dataset"],
        ["get", DATASET, "data", "--repo-type", "dataset"],  # no slash: still the folder
        ["get", f"hf://datasets/{DATASET}@main/data/"],
    ]
    for n, args in enumerate(forms):
        local = tmp_path / f"out{n}"
        out = run_kuaidi([*args, "--local-dir", str(local)], env)
        assert out.rc == 0, (args, out.stderr)
        assert Path(out.stdout.strip()) == local
        got = read_tree(local)
        assert sorted(got) == DATA, args
        assert all(got[p] == want[p] for p in DATA)
    # a folder that is not there is EntryNotFound, one line naming it
    missing = run_kuaidi(["get", DATASET, "dta/", "--repo-type", "dataset"], env)
    assert missing.rc == 2 and len(missing.err_lines) == 1 and "dta/" in missing.stderr
