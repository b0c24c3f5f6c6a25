"""``kuaidi bundle install BUNDLE`` / ``kuaidi bundle verify BUNDLE``: no network needed at all.

Install verifies every file against the manifest first (a damaged bundle installs nothing), then
puts the repos into the target HF cache — blobs already there (same name and size) are kept, not
copied again; snapshot links relative, refs atomically — and installs the wheels with
``pip install --no-index --find-links``.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kuaidi.bundle.create import copy_whole
from kuaidi.bundle.manifest import Manifest, check, refuse
from kuaidi.errors import PathError, UsageError
from kuaidi.get import default_cache_dir
from kuaidi.store.atomic import symlink_atomic, write_text_atomic

Say = Callable[[str], None]


def verify(bundle: Path) -> tuple[Manifest, list[str]]:
    """(manifest, problems) — problems name each bad file."""
    return check(bundle)


def _install_repos(root: Path, manifest: Manifest, cache: Path) -> dict[str, int]:
    counts = {"blobs_copied": 0, "blobs_present": 0, "links": 0, "refs": 0}
    for e in manifest.files:
        parts = e.path.split("/")
        if parts[0] != "hf" or len(parts) < 5:
            continue
        dest = cache.joinpath(*parts[2:])
        if e.kind == "hf-blob":
            if dest.is_file() and dest.stat().st_size == e.size:
                counts["blobs_present"] += 1
                continue
            copy_whole(root / e.path, dest)
            counts["blobs_copied"] += 1
        elif e.kind == "hf-ref":
            write_text_atomic(dest, (root / e.path).read_text())
            counts["refs"] += 1
        else:
            copy_whole(root / e.path, dest)
    for k in manifest.links:
        parts = k.path.split("/")
        if parts[0] == "hf":
            symlink_atomic(k.target, cache.joinpath(*parts[2:]))
            counts["links"] += 1
    return counts


def _install_wheels(root: Path, python: str) -> list[str]:
    wheels = root / "wheels"
    own = sorted((root / "kuaidi").glob("kuaidi-*.whl")) if (root / "kuaidi").is_dir() else []
    req = root / "requirements.txt"
    if not own and not req.is_file():
        return []
    args = [python, "-m", "pip", "install", "--no-index", "--disable-pip-version-check"]
    args += ["--find-links", str(wheels)]
    if own:
        args += ["--find-links", str(root / "kuaidi"), "kuaidi"]
    if req.is_file():
        args += ["-r", str(req)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        tail = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1:] or ["no output"]
        raise UsageError(
            f"pip could not install the bundle's wheels into {python}: {tail[0].strip()}",
            fix="the target's Python / platform must match --python / --platform of the bundle",
        )
    return sorted(p.name for p in wheels.glob("*.whl")) + [p.name for p in own]


def install(
    bundle: Path,
    *,
    cache_dir: Path | None = None,
    python: str | None = None,
    wheels: bool = True,
    dry_run: bool = False,
    say: Say = lambda _: None,
) -> dict[str, Any]:
    """Verify, then install; the ``--json`` summary."""
    manifest, problems = verify(bundle)
    refuse(bundle, problems)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    summary: dict[str, Any] = {
        "bundle": str(bundle),
        "cache_dir": str(cache),
        "dry_run": dry_run,
        "repos": manifest.repos,
        "verified_files": len(manifest.files),
    }
    if dry_run:
        return summary
    if cache.exists() and not cache.is_dir():
        raise PathError(f"--cache-dir {cache} is a file", fix="give a directory")
    with tempfile.TemporaryDirectory(prefix="kuaidi-bundle-") as tmp:
        root = bundle
        if not bundle.is_dir():
            with tarfile.open(bundle, "r:*") as t:
                # "data" refuses absolute paths, links out of the tree, devices (PEP 706).
                kw: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                t.extractall(tmp, **kw)
            root = Path(tmp)
        summary.update(_install_repos(root, manifest, cache))
        for r in manifest.repos:
            say(f"installed {r['repo_type']} {r['repo_id']}@{r['commit'][:8]} into {cache}")
        if wheels:
            summary["wheels"] = _install_wheels(root, python or sys.executable)
            if summary["wheels"]:
                say(f"pip installed {len(summary['wheels'])} wheels (--no-index)")
    return summary
