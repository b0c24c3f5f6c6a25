"""Journey: the mirror goes down after the model was cached; then HF_HUB_OFFLINE=1.

``MODEL=$(kuaidi get org/m -q)`` in a training script must keep working when the mirror
hiccups, as huggingface_hub's offline fallback does.
"""

from __future__ import annotations

import socket
from pathlib import Path

from kuaidi.sim import Sim
from tests.journeys.conftest import DATASET, TINY, base_env, run_kuaidi


def _closed_url() -> str:
    """A loopback URL nobody listens on: the mirror is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_mirror_down_with_a_full_cache_returns_the_cached_snapshot(sim: Sim, home: Path) -> None:
    env = base_env(home, sim)
    first = run_kuaidi(["get", TINY, "-q"], env)
    assert first.rc == 0, first.stderr
    down = {**env, "HF_ENDPOINT": _closed_url(), "MODELSCOPE_ENDPOINT": _closed_url()}
    again = run_kuaidi(["get", TINY, "--max-retries", "1"], down)
    assert again.rc == 0, again.stderr
    assert again.stdout == first.stdout  # the same snapshot path, so $(kuaidi get …) works
    notes = [ln for ln in again.err_lines if ln.startswith("kuaidi: note:")]
    assert len(notes) == 1 and "using the cached snapshot" in notes[0]
    assert "Traceback" not in again.stderr and len(again.err_lines) == 2
    # quiet: only the note (one line), the path on stdout
    quiet = run_kuaidi(["get", TINY, "-q", "--max-retries", "1"], down)
    assert quiet.rc == 0 and quiet.stdout == first.stdout and len(quiet.err_lines) == 1
    # not cached: the mirror being down is the error, one line, exit 1
    other = run_kuaidi(["get", DATASET, "--repo-type", "dataset", "--max-retries", "1"], down)
    assert other.rc == 1 and len(other.err_lines) == 1
    assert other.err_lines[0].startswith("kuaidi: error: ") and "cannot reach" in other.stderr


def test_hf_hub_offline_never_touches_the_network(sim: Sim, home: Path) -> None:
    env = base_env(home, sim)
    first = run_kuaidi(["get", TINY, "-q"], env)
    assert first.rc == 0, first.stderr
    seen = {host: len(sim.log(host)) for host in ("hf-mirror", "hf-cdn", "modelscope")}
    offline = {**env, "HF_HUB_OFFLINE": "1"}
    again = run_kuaidi(["get", TINY], offline)
    assert again.rc == 0, again.stderr
    assert again.stdout == first.stdout
    assert any("offline (HF_HUB_OFFLINE)" in ln for ln in again.err_lines)
    missing = run_kuaidi(["get", DATASET, "--repo-type", "dataset"], offline)
    assert missing.rc == 1 and len(missing.err_lines) == 1
    assert "HF_HUB_OFFLINE" in missing.stderr and "unset HF_HUB_OFFLINE" in missing.stderr
    # a file the cached snapshot lacks is "not cached" too
    absent = run_kuaidi(["get", TINY, "nope.bin"], offline)
    assert absent.rc == 1 and len(absent.err_lines) == 1
    # from the sim's logs: not one request arrived while offline
    assert {host: len(sim.log(host)) for host in seen} == seen
