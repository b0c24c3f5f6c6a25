"""``kuaidi cache move``: a cache written by kuaidi get and by huggingface_hub moves, stays loadable
offline, is listed by ``hf cache ls``; SIGKILL mid-move and a rerun completes it; undo reverts."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kuaidi.get import download
from kuaidi.sim import Sim
from tests.cache.conftest import REPO_ROOT, TINY, expected, hub_offline, run_kuaidi, tree_hash
from tests.simfixtures import hf_env, run_python

DATASET = "kuaidi-sim/tiny-dataset"
NESTED = "kuaidi-sim/nested-model"


@pytest.fixture
def mixed(sim: Sim, tmp_path: Path) -> Path:
    """tiny-model and tiny-dataset by kuaidi get, nested-model by huggingface_hub itself."""
    cache = tmp_path / "home" / ".cache" / "huggingface" / "hub"
    ep = sim.url("hf-mirror")
    assert download(TINY, cache_dir=cache, endpoint=ep).ok
    assert download(DATASET, repo_type="dataset", cache_dir=cache, endpoint=ep).ok
    env = hf_env(sim, tmp_path / "home" / ".cache" / "huggingface")
    got = run_python(
        "import json; from huggingface_hub import snapshot_download as s; "
        f"print(json.dumps({{'path': s({NESTED!r})}}))",
        env,
    )
    assert got["returncode"] == 0, got["stderr"]
    return cache


def test_move_keeps_the_cache_loadable_offline_and_listed_by_hf(
    mixed: Path, sim: Sim, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".bashrc").write_text("# my bashrc\nalias ll='ls -l'\n")
    bashrc = (home / ".bashrc").read_bytes()
    to = tmp_path / "disk"
    before = tree_hash(tmp_path)

    dry = run_kuaidi("cache", "move", "--to", str(to), "--copy", "--dry-run", home=home)
    assert dry.returncode == 0, dry.stderr
    assert tree_hash(tmp_path) == before and not to.exists()
    assert f"would move hf: {mixed} → {to}/hf/hub" in dry.stdout
    assert f"would set HF_HUB_CACHE={to}/hf/hub" in dry.stdout

    moved = run_kuaidi("cache", "move", "--to", str(to), "--copy", "--json", home=home)
    assert moved.returncode == 0, moved.stderr
    summary = json.loads(moved.stdout)
    dest = to / "hf" / "hub"
    assert [(g["name"], g["state"], g["method"]) for g in summary["legs"]] == [
        ("hf", "removed", "copy")
    ]
    # The old path is now a link to the new one; the journal is gone once done.
    assert mixed.is_symlink() and os.readlink(mixed) == str(dest)
    assert not (to / ".kuaidi-move.json").exists()
    # Relative links stayed relative.
    link = next((dest / "models--kuaidi-sim--tiny-model" / "snapshots").rglob("config.json"))
    assert os.readlink(link).startswith("../../blobs/")
    for repo_id, kind in ((TINY, "model"), (DATASET, "dataset"), (NESTED, "model")):
        assert hub_offline(dest, repo_id, kind) == expected(sim, repo_id, repo_type=kind)
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "hf"), "cache", "ls", "--cache-dir", str(dest)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    for name in ("model/" + TINY, "dataset/" + DATASET, "model/" + NESTED):
        assert name in listed.stdout, listed.stdout
    env_sh = home / ".config" / "kuaidi" / "env.sh"
    assert f'export HF_HUB_CACHE="{dest}"' in env_sh.read_text()
    assert "kuaidi" in (home / ".bashrc").read_text()
    shell = subprocess.run(
        ["bash", "-c", f'. {env_sh} && printf %s "$HF_HUB_CACHE"'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shell.stdout == str(dest)
    verify = run_kuaidi("cache", "verify", "--cache-dir", str(dest), home=home)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    undo = run_kuaidi("setup", "--undo", home=home)
    assert undo.returncode == 0, undo.stderr
    assert not env_sh.exists() and (home / ".bashrc").read_bytes() == bashrc
    # After undo the default path still reaches the cache, through the link.
    assert hub_offline(mixed, TINY) == expected(sim, TINY)

    again = run_kuaidi("cache", "move", "--to", str(to), "--copy", home=home)
    assert again.returncode == 0, again.stderr  # nothing left to move; the env file is re-pointed


def test_move_refuses_a_destination_that_holds_files(mixed: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    busy = tmp_path / "disk" / "hf" / "hub"
    busy.mkdir(parents=True)
    (busy / "mine.txt").write_text("keep me")
    before = tree_hash(tmp_path)
    out = run_kuaidi("cache", "move", "--to", str(tmp_path / "disk"), home=home)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "already holds files" in out.stderr and tree_hash(tmp_path) == before


def _big_cache(cache: Path, blobs: int = 40, size: int = 8 << 20) -> None:
    """A hub-layout repo of ``blobs`` random files (real sha256 names), one snapshot."""
    repo = cache / "models--org--big"
    commit = "1" * 40
    rng = random.Random(7)
    for i in range(blobs):
        data = rng.randbytes(size)
        name = hashlib.sha256(data).hexdigest()
        (repo / "blobs").mkdir(parents=True, exist_ok=True)
        (repo / "blobs" / name).write_bytes(data)
        link = repo / "snapshots" / commit / "shards" / f"part-{i:03d}.bin"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"../../../blobs/{name}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)


def test_sigkill_mid_move_then_rerun_completes_and_the_source_stays_until_verified(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    src = tmp_path / "src" / "hub"
    _big_cache(src)
    before = tree_hash(src)
    to = tmp_path / "disk"
    dest_blobs = to / "hf" / "hub" / "models--org--big" / "blobs"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "XDG_"))}
    env["HOME"] = str(home)
    cmd = [sys.executable, "-m", "kuaidi", "cache", "move", "--to", str(to), "--copy"]
    proc = subprocess.Popen(
        [*cmd, "--cache-dir", str(src)], env=env, cwd=REPO_ROOT, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if dest_blobs.is_dir() and len(list(dest_blobs.iterdir())) >= 3:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the move finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert (to / ".kuaidi-move.json").exists()
    assert tree_hash(src) == before and not src.is_symlink()  # nothing removed yet
    assert len(list(dest_blobs.iterdir())) < 40

    rerun = subprocess.run(
        [*cmd, "--cache-dir", str(src)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    dest = to / "hf" / "hub"
    assert tree_hash(dest) == before
    assert src.is_symlink() and not list(dest.rglob("*.kuaidi-tmp"))
    for blob in dest_blobs.iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


def test_same_disk_move_is_one_rename(filled: Path, sim: Sim, tmp_path: Path) -> None:
    home = tmp_path / "home"
    blobs = filled / "models--kuaidi-sim--tiny-model" / "blobs"
    inode = blobs.stat().st_ino
    out = run_kuaidi(
        "cache",
        "move",
        "--to",
        str(tmp_path / "disk"),
        "--cache-dir",
        str(filled),
        "--json",
        home=home,
    )
    assert out.returncode == 0, out.stderr
    assert [g["method"] for g in json.loads(out.stdout)["legs"]] == ["rename"]
    dest = tmp_path / "disk" / "hf" / "hub"
    assert (dest / "models--kuaidi-sim--tiny-model" / "blobs").stat().st_ino == inode
    assert hub_offline(dest, TINY) == expected(sim, TINY)
