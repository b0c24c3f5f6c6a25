"""rm / prune / verify --repair as a user runs them: subprocess, temp HOME, the sim."""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from kuaidi.sim import Sim
from tests.cache.conftest import TINY, as_json, expected, hub_offline, run_kuaidi, tree_hash

REPO = "models--kuaidi-sim--tiny-model"


def _blob_of(cache: Path, path: str, rev: str = "main") -> Path:
    commit = (cache / REPO / "refs" / rev).read_text()
    link = cache / REPO / "snapshots" / commit / path
    return Path(os.path.normpath(link.parent / os.readlink(link)))


def test_verify_finds_a_flipped_byte_and_a_truncated_blob_and_repair_restores_both(
    filled: Path, sim: Sim, tmp_path: Path
) -> None:
    weights, tok = _blob_of(filled, "model.safetensors"), _blob_of(filled, "tokenizer.json")
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    tok.write_bytes(tok.read_bytes()[:-7])

    found = run_kuaidi("cache", "verify", "--cache-dir", str(filled), home=tmp_path)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "model.safetensors" in found.stdout and "tokenizer.json" in found.stdout

    env = {"HF_ENDPOINT": sim.url("hf-mirror"), "KUAIDI_MODELSCOPE_ENDPOINT": "none"}
    fixed = run_kuaidi(
        "cache", "verify", TINY, "--repair", "--cache-dir", str(filled), home=tmp_path, env=env
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    lines = fixed.stdout.splitlines()
    # Named by repo path, both revisions that share the weights, and the truncated file.
    assert sum(ln.startswith("BAD kuaidi-sim/tiny-model: model.safetensors") for ln in lines) == 2
    assert any(
        ln.startswith("BAD kuaidi-sim/tiny-model: tokenizer.json (truncated") for ln in lines
    )
    assert sum(ln.startswith("REPAIRED") for ln in lines) == 3
    assert "3 repaired" in fixed.stderr
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == weights.name
    assert hub_offline(filled, TINY) == expected(sim, TINY)
    again = run_kuaidi("cache", "verify", "--cache-dir", str(filled), home=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr


def test_repair_of_a_deleted_blob_and_nothing_to_repair(filled: Path, sim: Sim, tmp_path: Path):
    cfg = _blob_of(filled, "config.json")
    cfg.unlink()  # a dangling link: hub's own scan gives up on the whole repo here
    env = {"HF_ENDPOINT": sim.url("hf-mirror")}
    out = as_json(
        run_kuaidi(
            "cache",
            "verify",
            "--repair",
            "--json",
            "--cache-dir",
            str(filled),
            home=tmp_path,
            env=env,
        )
    )
    assert [(b["path"], b["reason"].split()[0]) for b in out["bad"]] == [("config.json", "missing")]
    assert out["repaired"][0]["repaired"] is True
    assert hub_offline(filled, TINY) == expected(sim, TINY)
    clean = as_json(
        run_kuaidi(
            "cache", "verify", "--repair", "--json", "--cache-dir", str(filled), home=tmp_path
        )
    )
    assert clean["bad"] == [] and clean["checked"] == 10


def _plant(cache: Path) -> dict[str, Path]:
    blobs = cache / REPO / "blobs"
    orphan_bytes = b"left behind by a killed run\n"
    orphan = blobs / hashlib.sha256(orphan_bytes).hexdigest()
    orphan.write_bytes(orphan_bytes)
    dead = blobs / ("a" * 64 + ".kuaidi-part")
    dead.write_bytes(b"x" * 5000)
    (blobs / ("a" * 64 + ".kuaidi-journal")).write_bytes(b"j")
    hub_dead = blobs / ("b" * 64 + ".0123abcd.incomplete")
    hub_dead.write_bytes(b"y" * 3000)
    live = blobs / ("c" * 64 + ".incomplete")
    live.write_bytes(b"z" * 100)
    lock = cache / ".locks" / REPO / ("c" * 64 + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.touch()
    return {"orphan": orphan, "dead": dead, "hub_dead": hub_dead, "live": live, "lock": lock}


def test_prune_dry_run_changes_nothing_and_agrees_with_the_real_run(
    filled: Path, sim: Sim, tmp_path: Path
) -> None:
    planted = _plant(filled)
    fd = os.open(planted["lock"], os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a live writer (this process) owns the "c…" partial
    try:
        before = tree_hash(filled)
        args = ("cache", "prune", "--partials", "--cache-dir", str(filled), "--json")
        dry = as_json(run_kuaidi(*args, "--dry-run", home=tmp_path))
        assert tree_hash(filled) == before
        real = as_json(run_kuaidi(*args, home=tmp_path))
    finally:
        os.close(fd)
    assert dry["removed"] == real["removed"] and dry["freed"] == real["freed"] > 0
    kinds = sorted({v["what"] for v in real["removed"]})
    assert kinds == ["blob", "orphan-blob", "partial", "revision"]
    for v in real["removed"]:
        assert not os.path.lexists(v["path"])
    assert planted["live"].exists() and any(str(planted["live"]) in s for s in real["skipped"])
    old = sim.catalog.get("model", TINY).resolve("v1.0").sha
    assert not (filled / REPO / "snapshots" / old).exists()
    # Everything the kept snapshot (main) links to is still there and whole.
    assert hub_offline(filled, TINY) == expected(sim, TINY)
    assert run_kuaidi("cache", "verify", "--cache-dir", str(filled), home=tmp_path).returncode == 0


def test_prune_keep_latest_and_older_than(filled: Path, tmp_path: Path) -> None:
    args = ("cache", "prune", "--cache-dir", str(filled), "--json", "--dry-run")
    kept = as_json(run_kuaidi(*args, "--older-than", "0s", "--keep-latest", home=tmp_path))
    # Every revision is "old", but each repo keeps its newest one.
    assert [v["what"] for v in kept["removed"]].count("revision") == 1
    everything = as_json(run_kuaidi(*args, "--older-than", "0s", home=tmp_path))
    assert [v["what"] for v in everything["removed"]] == ["repo"]
    bad = run_kuaidi(*args, "--older-than", "30 days", home=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "30d" in bad.stderr


def test_rm_one_revision_keeps_blobs_shared_with_another(
    filled: Path, sim: Sim, tmp_path: Path
) -> None:
    old = sim.catalog.get("model", TINY).resolve("v1.0").sha
    shared = _blob_of(filled, "model.safetensors")
    before = tree_hash(filled)
    args = ("cache", "rm", f"{TINY}@{old[:8]}", "--cache-dir", str(filled))
    dry = run_kuaidi(*args, "--dry-run", home=tmp_path)
    assert dry.returncode == 0 and tree_hash(filled) == before
    assert "would free" in dry.stderr
    real = run_kuaidi(*args, home=tmp_path)
    assert real.returncode == 0, real.stderr
    assert real.stdout.replace("removing", "would remove") == dry.stdout
    assert "model.safetensors" not in real.stdout  # shared with main: kept
    assert shared.exists() and hashlib.sha256(shared.read_bytes()).hexdigest() == shared.name
    assert not (filled / REPO / "snapshots" / old).exists()
    assert hub_offline(filled, TINY) == expected(sim, TINY)


def test_rm_whole_repo_and_bad_input(filled: Path, tmp_path: Path) -> None:
    missing = run_kuaidi("cache", "rm", "org/nothing", "--cache-dir", str(filled), home=tmp_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "org/nothing is not in the cache" in missing.stderr
    norev = run_kuaidi("cache", "rm", f"{TINY}@nosuch", "--cache-dir", str(filled), home=tmp_path)
    assert norev.returncode == 2 and "refs: main" in norev.stderr
    gone = run_kuaidi("cache", "rm", TINY, "--cache-dir", str(filled), "--json", home=tmp_path)
    assert [v["what"] for v in as_json(gone)["removed"]] == ["repo"]
    assert not (filled / REPO).exists()


def test_without_huggingface_hub_rm_and_prune_say_how_to_get_it(filled: Path) -> None:
    code = (
        "import sys; sys.modules['huggingface_hub'] = None; from kuaidi.cli import main; "
        f"sys.exit(main(['cache', 'prune', '--cache-dir', {str(filled)!r}]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "pip install 'kuaidi[hf]'" in out.stderr
