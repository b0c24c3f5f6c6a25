"""Caches and disks: caches on the small system disk while a data disk exists, free bytes *and*
free inodes of the disks that hold them, and ``*.incomplete`` partials left in the HF cache."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kuaidi.doctor.context import CONDA_PREFIXES, Context
from kuaidi.doctor.hf import env_fix
from kuaidi.doctor.model import Finding, check
from kuaidi.model.hfpaths import hf_hub_cache

GiB = 1024**3
LOW_BYTES_ERROR, LOW_BYTES_WARN = 1 * GiB, 5 * GiB
LOW_INODES_ERROR, LOW_INODES_WARN = 0.02, 0.10  # free fraction
MAX_PARTIALS_SHOWN = 5


@dataclass(frozen=True)
class Cache:
    """One tool's cache directory (as the box sees it) and the variable that moves it."""

    name: str
    path: Path
    variable: str
    weights: bool  # holds model weights: tens of GB


def caches(ctx: Context) -> list[Cache]:
    """Where each cache lives now, from the same variables the tools read."""
    e = ctx.env
    cache = ctx.cache_home

    def dir_from(variable: str, fallback: Path) -> Path:
        value = e(variable)
        return ctx.on_box(value) if value else fallback

    found = [
        Cache("Hugging Face", ctx.on_box(hf_hub_cache(ctx.environ, ctx.home)), "HF_HOME", True),
        Cache(
            "ModelScope",
            dir_from("MODELSCOPE_CACHE", cache / "modelscope/hub"),
            "MODELSCOPE_CACHE",
            True,
        ),
        Cache("torch", dir_from("TORCH_HOME", cache / "torch"), "TORCH_HOME", True),
        Cache("pip", dir_from("PIP_CACHE_DIR", cache / "pip"), "PIP_CACHE_DIR", False),
        Cache("uv", dir_from("UV_CACHE_DIR", cache / "uv"), "UV_CACHE_DIR", False),
    ]
    conda = _conda_pkgs(ctx)
    if conda is not None:
        found.append(Cache("conda", conda, "CONDA_PKGS_DIRS", False))
    return found


def _conda_pkgs(ctx: Context) -> Path | None:
    if ctx.env("CONDA_PKGS_DIRS"):
        return ctx.on_box(ctx.environ["CONDA_PKGS_DIRS"].split(",")[0])
    dirs = ctx.conda_setting("pkgs_dirs")
    if dirs is not None and isinstance(dirs.value, list) and dirs.value:
        return ctx.on_box(str(dirs.value[0]))
    for prefix in (ctx.env("CONDA_ROOT"), *CONDA_PREFIXES[:3]):
        if prefix and (ctx.on_box(prefix) / "conda-meta").is_dir():
            return ctx.on_box(prefix) / "pkgs"
    return None


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def on_disk(path: Path, disk: Path) -> bool:
    """True when ``path`` (which may not exist yet) lies on ``disk``: under it once symlinks are
    resolved, or on the same device when that device is not the root's."""
    real, base = Path(os.path.realpath(path)), Path(os.path.realpath(disk))
    if real == base or base in real.parents:
        return True
    try:
        dev = _existing(path).stat().st_dev
        return dev == disk.stat().st_dev and dev != Path("/").stat().st_dev
    except OSError:
        return False


@check("disks.cache_location", "error", "caches are on the data disk")
def check_location(ctx: Context) -> list[Finding]:
    disk = ctx.data_disk
    if disk is None:
        return []
    findings = []
    for cache in caches(ctx):
        if on_disk(cache.path, disk):
            continue
        findings.append(
            Finding(
                "disks.cache_location",
                "error" if cache.weights else "warning",
                f"the {cache.name} cache is on the system disk while {ctx.platform.display} has a "
                f"data disk at {disk}",
                (f"{cache.name} cache: {cache.path}", f"data disk: {disk}"),
                f"export {cache.variable} under {disk} in the env file "
                "(kuaidi setup points every cache variable there; data already cached stays until "
                "moved)",
                env_fix(ctx),
            )
        )
    return findings


def _disks(ctx: Context) -> list[tuple[str, Path]]:
    """(label, path) of each distinct disk holding a cache, plus the data disk."""
    seen: set[int] = set()
    found = []
    candidates = [(f"data disk {ctx.data_disk}", ctx.data_disk)] if ctx.data_disk else []
    candidates += [(f"disk of the {c.name} cache ({c.path})", c.path) for c in caches(ctx)]
    for label, path in candidates:
        assert path is not None
        existing = _existing(path)
        try:
            dev = existing.stat().st_dev
        except OSError:
            continue
        if dev not in seen:
            seen.add(dev)
            found.append((label, existing))
    return found


@check("disks.free", "error", "cache disks have free space and free inodes")
def check_free(ctx: Context) -> list[Finding]:
    findings = []
    for label, path in _disks(ctx):
        try:
            st = ctx.statvfs(str(path))
        except OSError:
            continue
        free, total = st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
        if free < LOW_BYTES_WARN:
            findings.append(
                Finding(
                    "disks.free",
                    "error" if free < LOW_BYTES_ERROR else "warning",
                    f"the {label} is nearly full",
                    (f"{path}: {free / GiB:.1f} GiB free of {total / GiB:.1f} GiB",),
                    "free space (`kuaidi cache`, `hf cache rm`, `pip cache purge`, "
                    "`conda clean -a`) "
                    "or move the caches to a larger disk (kuaidi setup --data-disk PATH)",
                )
            )
        if st.f_files:  # 0 total inodes: the file system has no inode limit (btrfs, some NFS)
            share = st.f_favail / st.f_files
            if share < LOW_INODES_WARN:
                findings.append(
                    Finding(
                        "disks.free",
                        "error" if share < LOW_INODES_ERROR else "warning",
                        f"the {label} is running out of inodes: writes fail with 'No space left "
                        "on device' while `df -h` still shows free bytes",
                        (
                            f"{path}: {st.f_favail} of {st.f_files} inodes free ({share:.0%}); "
                            f"bytes: {free / GiB:.1f} GiB free "
                            f"({free / total if total else 0:.0%})",
                        ),
                        "check `df -i`; delete many-small-file trees (unpacked datasets, pip/uv "
                        "caches, .git objects) or pack them into archives",
                    )
                )
    return findings


# huggingface_hub's own partial, and kuaidi's (store/hf_cache.py: the part and its journal)
PARTIAL_SUFFIXES = (".incomplete", ".kuaidi-part")
JOURNAL_SUFFIX = ".kuaidi-journal"


@check("cache.partials", "warning", "no partial downloads are left in the HF cache")
def check_partials(ctx: Context) -> list[Finding]:
    hub = caches(ctx)[0].path
    if not hub.is_dir():
        return []
    partials: list[Path] = []
    journals: list[Path] = []
    for kind in ("models", "datasets", "spaces"):
        for blob in hub.glob(f"{kind}--*/blobs/*"):
            if blob.name.endswith(PARTIAL_SUFFIXES):
                partials.append(blob)
            elif blob.name.endswith(JOURNAL_SUFFIX):
                journals.append(blob)
    # a journal whose part is gone is a leftover too (it is tiny, but the same cleanup)
    lone = [
        j
        for j in journals
        if not j.with_name(j.name[: -len(JOURNAL_SUFFIX)] + ".kuaidi-part").exists()
    ]
    partials += lone
    if not partials:
        return []
    size = sum(p.stat().st_size for p in partials if p.exists())
    repos = sorted({p.parent.parent.name for p in partials})
    shown = [
        f"{p.relative_to(hub)} ({p.stat().st_size} bytes)"
        for p in sorted(partials)[:MAX_PARTIALS_SHOWN]
    ]
    return [
        Finding(
            "cache.partials",
            "warning",
            f"{len(partials)} partial download(s), {size / 1024**2:.1f} MiB, are left in the "
            "HF cache "
            f"({', '.join(r.split('--', 1)[1].replace('--', '/') for r in repos)})",
            (f"HF cache: {hub}", *shown),
            "re-run the same download to finish it (kuaidi get resumes its .kuaidi-part files), "
            f"or delete them: find {hub} -name '*.incomplete' -delete; find {hub} -path "
            "'*/blobs/*' -name '*.kuaidi-*' -delete",
        )
    ]
