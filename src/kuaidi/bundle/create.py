"""``kuaidi bundle create OUT``: repos through the route ladder (into the local HF cache, then
copied into the bundle in the HF layout), wheels through the configured PyPI mirror with pip's own
resolver for the *target's* Python and platform, kuaidi's own wheel, and the manifest last.

Resumable: the downloads resume, copied files reach their name only whole and are skipped on a
rerun, ``pip download`` keeps what is already in ``wheels/``; with ``--tar`` the tree is staged in
``OUT.partial/`` and the tar appears under its name only when complete.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import kuaidi
from kuaidi.bundle.manifest import MANIFEST, build
from kuaidi.cache.rm import parse_spec
from kuaidi.cache.scan import link_target
from kuaidi.errors import SourceUnavailable, UsageError
from kuaidi.get import default_cache_dir, download
from kuaidi.store.atomic import symlink_atomic, write_text_atomic
from kuaidi.units import format_size

Say = Callable[[str], None]


def copy_whole(src: Path, dest: Path) -> None:
    """Copy via a temp name; skipped when ``dest`` already has ``src``'s size (an earlier run)."""
    if dest.is_file() and dest.stat().st_size == src.stat().st_size:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.kuaidi-tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def add_repo(hub: Path, cache: Path, spec: str, repo_type: str, **get_kw: Any) -> dict[str, str]:
    """Fetch ``spec`` (``org/name[@rev]``) and copy its revision into ``hub`` in the HF layout."""
    kind, repo_id, rev = parse_spec(spec, repo_type)
    result = download(repo_id, repo_type=kind, revision=rev, cache_dir=cache, **get_kw)
    if not result.ok:
        first = result.failed[0]
        raise SourceUnavailable(
            f"{repo_id}: {first.path} could not be fetched ({first.error})",
            fix="rerun kuaidi bundle create (downloads resume)",
        )
    snapshot = Path(result.path)
    folder = snapshot.parents[1]
    out = hub / folder.name
    for dirpath, _dirs, names in os.walk(snapshot):
        for name in names:
            entry = Path(dirpath) / name
            rel = entry.relative_to(snapshot)
            blob = link_target(entry)
            copy_whole(blob, out / "blobs" / blob.name)
            link = out / "snapshots" / result.commit / rel
            text = os.path.relpath(out / "blobs" / blob.name, link.parent)
            if not link.is_symlink() or os.readlink(link) != text:
                symlink_atomic(text, link)
    if result.revision != result.commit:
        write_text_atomic(out / "refs" / result.revision, result.commit)
    tree = folder / "trees" / f"{result.commit}.json"
    if tree.is_file():
        copy_whole(tree, out / "trees" / tree.name)
    return {
        "repo_type": kind,
        "repo_id": repo_id,
        "revision": result.revision,
        "commit": result.commit,
    }


_PIP_FIX = "check the requirements and the PyPI mirror (PIP_INDEX_URL / pip.conf)"


def _pip(args: list[str], what: str, fix: str = _PIP_FIX) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=3600
    )
    if proc.returncode != 0:
        tail = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1:] or ["no output"]
        raise SourceUnavailable(
            f"pip could not {what}: {tail[0].strip()}",
            fix=fix,
        )


def add_wheels(
    staging: Path,
    requirements: Path | None,
    extra: Sequence[str],
    python: str | None,
    platform: str | None,
    index_url: str | None,
) -> None:
    """``pip download`` for the target (its Python version and platform tags)."""
    if requirements is None and not extra:
        return
    args = ["download", "-d", str(staging / "wheels"), "--only-binary=:all:"]
    args += ["--disable-pip-version-check", "--progress-bar", "off"]
    if python:
        args += ["--python-version", python]
    if platform:
        args += ["--platform", platform]
    if index_url:
        args += ["--index-url", index_url]
    if requirements is not None:
        copy_whole(requirements, staging / "requirements.txt")
        args += ["-r", str(requirements)]
    _pip([*args, *extra], "download the wheels")


def kuaidi_wheel(staging: Path) -> list[str]:
    """Build kuaidi's own wheel into ``kuaidi/``; its runtime requirements (for pip download)."""
    src = Path(kuaidi.__file__).resolve().parents[2]
    if not (src / "pyproject.toml").is_file():
        raise UsageError(
            "kuaidi's own wheel can only be built from a source checkout",
            fix="pass --no-kuaidi (install kuaidi on the target separately)",
        )
    out = staging / "kuaidi"
    if not list(out.glob("kuaidi-*.whl")):
        base = ["wheel", "--no-deps", "-q", "-w", str(out), str(src)]
        try:  # the build backend from the configured index, else the one installed here
            _pip(base, "build kuaidi's wheel")
        except SourceUnavailable:
            _pip([*base, "--no-build-isolation"], "build kuaidi's wheel", "pass --no-kuaidi")
    reqs = importlib.metadata.requires("kuaidi") or []
    return [r for r in reqs if "extra ==" not in r]


def create(
    out: Path,
    *,
    models: Sequence[str] = (),
    datasets: Sequence[str] = (),
    requirements: Path | None = None,
    python: str | None = None,
    platform: str | None = None,
    tar: bool = False,
    with_kuaidi: bool = True,
    cache_dir: Path | None = None,
    index_url: str | None = None,
    say: Say = lambda _: None,
    **get_kw: Any,
) -> dict[str, Any]:
    """Build the bundle; the ``--json`` summary."""
    if not (models or datasets or requirements):
        raise UsageError("an empty bundle", fix="add --model REPO, --dataset REPO or -r FILE")
    if requirements is not None and not requirements.is_file():
        raise UsageError(f"no requirements file {requirements}", fix="check the -r path")
    if tar and out.is_dir():
        raise UsageError(f"{out} is a directory", fix="give --tar a file name, e.g. lab.tar")
    staging = out.with_name(out.name + ".partial") if tar else out
    staging.mkdir(parents=True, exist_ok=True)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    repos = [add_repo(staging / "hf" / "hub", cache, s, "model", **get_kw) for s in models]
    repos += [add_repo(staging / "hf" / "hub", cache, s, "dataset", **get_kw) for s in datasets]
    for r in repos:
        say(f"repo {r['repo_id']}@{r['commit'][:8]}")
    extra = kuaidi_wheel(staging) if with_kuaidi else []
    add_wheels(staging, requirements, extra, python, platform, index_url)
    manifest = build(
        staging,
        repos=repos,
        target={"python": python, "platform": platform},
        kuaidi_version=kuaidi.__version__,
    )
    write_text_atomic(staging / MANIFEST, manifest.to_text())
    if tar:
        tmp = out.with_name(f".{out.name}.{os.getpid()}.kuaidi-tmp")
        with tarfile.open(tmp, "w") as t:  # symlinks stay symlinks (dereference=False)
            t.add(staging / MANIFEST, MANIFEST)
            for rel, p in _members(staging):
                t.add(p, rel, recursive=False)
        os.replace(tmp, out)
        shutil.rmtree(staging)
    say(f"bundle {out}: {len(manifest.files)} files, {format_size(manifest.total)}")
    return {
        "bundle": str(out),
        "repos": repos,
        "files": len(manifest.files),
        "bytes": manifest.total,
        "wheels": sorted(e.path for e in manifest.files if e.kind in ("wheel", "kuaidi-wheel")),
    }


def _members(root: Path) -> list[tuple[str, Path]]:
    from kuaidi.bundle.manifest import walk

    return [(rel, p) for rel, p in walk(root) if rel != MANIFEST]
