"""``kuaidi cache move`` of a 4 GiB cache vs ``cp -a`` + ``rm -r``; a bundle's size vs a zip.

Move: a hub-layout cache of 16 × 256 MiB random blobs (real sha256 names, relative snapshot
links). Each run gets a fresh copy of it and moves it to another directory of the same disk:
``kuaidi cache move --copy`` (copy, fsync, sha256-verify every file, then remove the source),
``kuaidi cache move`` (same filesystem: one rename), and ``cp -a SRC DEST && rm -r SRC`` (no
verification). The page cache is warm: the fresh copy was just written.

Bundle: a repo with two revisions that share their two LFS shards (as most model updates do),
fetched by ``kuaidi get`` from the sim; ``kuaidi bundle create`` of both revisions vs a zip of the
same cache folder with symlinks followed (what ``zip -r`` or an upload tool does).
``python -m bench cache_move``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from kuaidi.get import download
from kuaidi.sim import Sim
from kuaidi.sim.content import Catalog, RepoSpec

BLOBS, BLOB_SIZE = 16, 256 << 20
SHARED = RepoSpec(
    "bench/shared",
    "model-00001-of-00002.safetensors:200MB,model-00002-of-00002.safetensors:200MB,"
    "config.json:2KB,README.md:1KB",
    seed=41,
    revisions=2,
)
KUAIDI = [sys.executable, "-m", "kuaidi"]


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.2f} GiB"


def _master(root: Path) -> Path:
    cache = root / "master" / "hub"
    repo = cache / "models--bench--big"
    commit = "2" * 40
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for i in range(BLOBS):
        tmp = repo / "blobs" / "tmp"
        h = hashlib.sha256()
        with open(tmp, "wb") as f:
            for _ in range(BLOB_SIZE // (16 << 20)):
                chunk = os.urandom(16 << 20)
                h.update(chunk)
                f.write(chunk)
        tmp.rename(repo / "blobs" / h.hexdigest())
        link = repo / "snapshots" / commit / f"model-{i:05d}.safetensors"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"../../blobs/{h.hexdigest()}")
    return cache


def _timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed: {proc.stderr}")
    return time.monotonic() - t0


def _move_rows(root: Path) -> list[tuple[str, float]]:
    master = _master(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "XDG_"))}
    env["HOME"] = str(root / "home")
    rows = []
    for name in ("kuaidi cache move --copy", "kuaidi cache move", "cp -a + rm -r"):
        src, to = root / "src" / "hub", root / "dest"
        src.parent.mkdir()
        subprocess.run(["cp", "-a", str(master), str(src.parent)], check=True)
        os.sync()
        if name.startswith("kuaidi"):
            extra = ["--copy"] if "--copy" in name else []
            argv = [*KUAIDI, "cache", "move", "--to", str(to), "--cache-dir", str(src), *extra]
            seconds = _timed(argv, env)
        else:
            seconds = _timed(["sh", "-c", f'cp -a "{src}" "{to}" && rm -r "{src}"'])
        rows.append((name, seconds))
        print(f"  {name}: {seconds:.2f}s", flush=True)
        for p in (root / "src", to, root / "home"):
            shutil.rmtree(p, ignore_errors=True)
            if p.is_symlink():
                p.unlink()
    return rows


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _bundle_rows(root: Path) -> list[tuple[str, int]]:
    catalog = Catalog(root / "content", [SHARED])
    cache = root / "bcache"
    with Sim("clean", catalog=catalog, hosts=["hf-mirror", "hf-cdn"]) as sim:
        ep = sim.url("hf-mirror")
        for rev in ("main", "v1.0"):
            assert download(SHARED.repo_id, revision=rev, cache_dir=cache, endpoint=ep).ok
        env = {**os.environ, "HF_ENDPOINT": ep, "HOME": str(root / "home")}
        out = root / "shared.tar"
        argv = [*KUAIDI, "bundle", "create", str(out), "--tar", "--no-kuaidi"]
        argv += ["--cache-dir", str(cache), "--model", f"{SHARED.repo_id}@main"]
        argv += ["--model", f"{SHARED.repo_id}@v1.0"]
        subprocess.run(argv, check=True, capture_output=True, env=env)
    zpath = root / "shared.zip"
    folder = cache / "models--bench--shared"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():  # follows symlinks, as zip -r does
                z.write(p, p.relative_to(cache).as_posix())
    return [
        ("cache on disk (blobs once)", _tree_bytes(folder)),
        ("kuaidi bundle create --tar (both revisions)", out.stat().st_size),
        ("zip of the cache folder (symlinks followed)", zpath.stat().st_size),
    ]


def run(out: Path) -> str:
    with tempfile.TemporaryDirectory(dir=out) as d:
        moves = _move_rows(Path(d).resolve())
    with tempfile.TemporaryDirectory(dir=out) as d:
        sizes = _bundle_rows(Path(d).resolve())
    total = BLOBS * BLOB_SIZE
    lines = [
        "## Cache move and bundle size",
        "",
        "Reproduce: `.venv/bin/python -m bench cache_move`. Measured "
        f"**{time.strftime('%Y-%m-%d')}** on the machine above (one virtual disk).",
        "",
        f"Moving a {_gib(total)} HF cache ({BLOBS} blobs) to another directory of the same disk:",
        "",
        "| how | seconds | GiB/s |",
        "|---|---:|---:|",
        *[f"| {n} | {s:.2f} | {total / (1 << 30) / s:.2f} |" for n, s in moves],
        "",
        "Size of one repo with two revisions sharing their LFS shards:",
        "",
        "| what | size |",
        "|---|---:|",
        *[f"| {n} | {_gib(b)} |" for n, b in sizes],
        "",
    ]
    return "\n".join(lines)
