"""Journey: one byte of a cached weight file flips (a bad disk, a killed copy); the user
reruns ``kuaidi get``, then checks the cache, then repairs it with ``--force-download``."""

from __future__ import annotations

from pathlib import Path

from kuaidi.sim import Sim
from tests.journeys.conftest import TINY, base_env, expected, partials, read_tree, run_kuaidi


def test_corrupt_blob_is_named_and_force_download_repairs_it(sim: Sim, home: Path) -> None:
    env = base_env(home, sim)
    first = run_kuaidi(["get", TINY, "-q"], env)
    assert first.rc == 0, first.stderr
    snapshot = Path(first.stdout.strip())
    blob = (snapshot / "model.safetensors").resolve()
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.write_bytes(bytes(data))

    # get does not re-hash present files: it must not claim it verified them
    rerun = run_kuaidi(["get", TINY], env)
    assert rerun.rc == 0
    assert "verified" not in rerun.err_lines[-1]
    assert "checked by size; --force-download re-fetches" in rerun.err_lines[-1]

    # verify names the file by its repo path and says the fix
    check = run_kuaidi(["cache", "verify", TINY], env)
    assert check.rc == 1
    [line] = check.stdout.strip().splitlines()
    assert line.startswith(f"CORRUPT {TINY}: model.safetensors")
    assert f"kuaidi get {TINY} model.safetensors --force-download" in line
    assert check.err_lines == ["5 blobs checked, 1 corrupt"]

    cdn = len(sim.log("hf-cdn").requests("*/model.safetensors"))
    fixed = run_kuaidi(["get", TINY, "--force-download"], env)
    assert fixed.rc == 0, fixed.stderr
    assert fixed.stdout == first.stdout
    assert fixed.err_lines[-1].startswith("ok: 5/5 files verified")
    assert len(sim.log("hf-cdn").requests("*/model.safetensors")) > cdn
    assert read_tree(snapshot) == expected(sim, TINY)
    assert partials(home) == []
    again = run_kuaidi(["cache", "verify", TINY], env)
    assert again.rc == 0 and again.stdout == ""
