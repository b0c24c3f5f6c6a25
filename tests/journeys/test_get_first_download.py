"""Journey: the first download on a fresh box, then the same command again."""

from __future__ import annotations

from pathlib import Path

from kuaidi.sim import Sim
from tests.journeys.conftest import (
    TINY,
    base_env,
    expected,
    partials,
    read_tree,
    run_kuaidi,
    tree_digest,
)


def test_first_download_then_rerun(sim: Sim, home: Path) -> None:
    env = base_env(home, sim)
    cache = home / ".cache" / "huggingface" / "hub"
    # --dry-run first: it lists, writes nothing (the whole HOME is unchanged)
    before = tree_digest(home)
    dry = run_kuaidi(["get", TINY, "--dry-run"], env)
    assert dry.rc == 0, dry.stderr
    assert tree_digest(home) == before
    assert dry.stdout.strip().splitlines()[-1].startswith("5 files, ")
    assert "KiB" in dry.stdout and " MB" not in dry.stdout  # one unit convention: binary
    assert sim.log("hf-cdn").requests("*") == []

    first = run_kuaidi(["get", TINY], env)
    assert first.rc == 0, first.stderr
    snapshot = Path(first.stdout.strip())
    assert first.stdout.count("\n") == 1
    assert snapshot.parent.parent == cache / "models--kuaidi-sim--tiny-model"
    assert read_tree(snapshot) == expected(sim, TINY)
    last = first.err_lines[-1]
    assert last.startswith("ok: 5/5 files verified, ") and "iB/s)" in last
    assert partials(cache) == []
    assert (cache / "models--kuaidi-sim--tiny-model" / "refs" / "main").is_file()

    cdn_before = len(sim.log("hf-cdn"))
    again = run_kuaidi(["get", TINY], env)
    assert again.rc == 0 and again.stdout == first.stdout
    # honest: present files were checked by size, not re-hashed, and the way to re-fetch is said
    assert again.err_lines == [
        "ok: 5 files already present (checked by size; --force-download re-fetches), "
        "nothing fetched"
    ]
    assert len(sim.log("hf-cdn")) == cdn_before
