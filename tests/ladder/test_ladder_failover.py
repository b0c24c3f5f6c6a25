"""Acceptance: a file the mirror serves badly moves down the ladder and the run ends verified.

The mirror lists kuaidi-sim/tiny-model; ModelScope has it under the same id with the same
hashes (the next rung). One file is broken on the mirror's side — wrong bytes from its CDN, a
stall, a 5xx on its resolve URL — and only that file moves to ModelScope.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from kuaidi.sim import faults as F
from tests.ladder.conftest import TINY, base_env, expected, get_json, mirror_name, read_tree

WEIGHTS = "model.safetensors"  # LFS: resolve 302 → the mirror's CDN


@pytest.mark.parametrize(
    ("host", "rule", "broken"),
    [
        ("hf-cdn", F.corrupt(offset=1000, path=WEIGHTS), WEIGHTS),
        ("hf-cdn", F.stall(after=0, seconds=None, path=WEIGHTS), WEIGHTS),
        ("hf-mirror", F.status(503, path="*/resolve/*/config.json"), "config.json"),
    ],
    ids=["wrong-hash", "stall", "mirror-5xx"],
)
def test_a_broken_file_moves_down_the_ladder(
    make_sim: Callable[..., Sim], tmp_path: Path, host: str, rule: F.FaultRule, broken: str
) -> None:
    sim = make_sim("clean", hosts=["hf-mirror", "hf-cdn", "modelscope"], faults={host: [rule]})
    env = base_env(sim, tmp_path)
    args = ["--cache-dir", str(tmp_path / "c"), "--stall-timeout", "1", "--max-retries", "3"]
    summary = get_json(TINY, *args, env=env)
    assert summary["ok"], summary["failed"]
    assert read_tree(Path(summary["path"])) == expected(sim, TINY)
    assert sim.host(host).faults.fired_count() >= 1
    sources = {f["path"]: f["sources"] for f in summary["files"]}
    assert "modelscope" in sources[broken], sources[broken]
    mirror = mirror_name(sim)
    for path, served in sources.items():
        if path != broken:  # the other files stayed on the mirror
            assert set(served) == {mirror}, (path, served)
    if rule.kind == "corrupt":  # the mirror's bytes were discarded, ModelScope's kept
        assert sources[broken]["modelscope"] == summary_size(summary, broken)


def summary_size(summary: dict, path: str) -> int:  # type: ignore[type-arg]
    return next(f["size"] for f in summary["files"] if f["path"] == path)
