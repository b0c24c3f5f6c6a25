"""Pick the data disk on a box no profile knows (platforms.md §2 "Bare SSH box").

The largest writable mount that is not ``/`` or a pseudo / memory file system wins; inodes are
checked as well as bytes, because a disk with no free inodes is as full as one with no bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# File systems that are never a data disk: kernel views, memory, the container's own layers.
PSEUDO_FS = frozenset(
    (
        *("proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "overlay", "aufs", "squashfs"),
        *("cgroup", "cgroup2", "mqueue", "securityfs", "debugfs", "tracefs", "pstore", "bpf"),
        *("configfs", "fusectl", "hugetlbfs", "autofs", "binfmt_misc", "nsfs", "rpc_pipefs"),
        *("efivarfs", "selinuxfs", "nfsd", "iso9660"),
    )
)
# Mount points that are never a cache home even when they are a real disk (/tmp is wiped on boot).
SYSTEM_PREFIXES = (
    *("/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/usr", "/snap"),
    *("/var/lib", "/var/log", "/var/cache", "/tmp", "/var/tmp"),
)
MIN_FREE_INODES = 10_000


@dataclass(frozen=True)
class Mount:
    """A mounted file system and its free space, as seen under the detection root."""

    point: str  # as the box sees it, e.g. /data
    fstype: str
    path: Path  # where it is under the root (same as point when root is /)
    free_bytes: int
    free_inodes: int


def read_mounts(root: Path) -> list[tuple[str, str]]:
    """(mount point, fstype) pairs from ``<root>/proc/self/mounts`` (or ``<root>/proc/mounts``)."""
    for name in ("proc/self/mounts", "proc/mounts"):
        table = root / name
        try:
            text = table.read_text("utf-8", errors="replace")
        except OSError:
            continue
        pairs = []
        for line in text.splitlines():
            fields = line.split()
            if len(fields) >= 3:
                # /proc/mounts escapes spaces as \040.
                pairs.append((fields[1].replace("\\040", " "), fields[2]))
        return pairs
    return []


def candidate_mounts(root: Path) -> list[Mount]:
    """Writable, real, non-system mounts under ``root``, largest free space first."""
    found: dict[str, Mount] = {}
    for point, fstype in read_mounts(root):
        if point == "/" or fstype in PSEUDO_FS or fstype.startswith("fuse.lxcfs"):
            continue
        if any(point == p or point.startswith(p + "/") for p in SYSTEM_PREFIXES):
            continue
        path = root / point.lstrip("/")
        if not path.is_dir() or not os.access(path, os.W_OK):
            continue
        try:
            st = os.statvfs(path)
        except OSError:
            continue
        found[point] = Mount(
            point=point,
            fstype=fstype,
            path=path,
            free_bytes=st.f_bavail * st.f_frsize,
            # Some file systems report 0 total inodes (btrfs, some NFS): no inode limit then.
            free_inodes=st.f_favail if st.f_files else MIN_FREE_INODES,
        )
    return sorted(found.values(), key=lambda m: m.free_bytes, reverse=True)


def pick_data_disk(root: Path) -> tuple[Mount | None, list[str]]:
    """The bare-box data disk and warnings about the choice (None: none found)."""
    warnings: list[str] = []
    for mount in candidate_mounts(root):
        if mount.free_inodes < MIN_FREE_INODES:
            warnings.append(
                f"{mount.point} has only {mount.free_inodes} free inodes: not used for caches"
            )
            continue
        return mount, warnings
    warnings.append(
        "no writable data disk besides / was found: caches stay in their default places "
        "under $HOME (use --data-disk PATH to choose one)"
    )
    return None, warnings
