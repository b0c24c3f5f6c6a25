"""``kuaidi cache move --to DIR``: the HF cache (and on request ModelScope's and pip's) onto another
disk, the way ``kuaidi setup --data-disk DIR`` lays it out: ``DIR/hf/hub``, ``DIR/modelscope``,
``DIR/pip``.

Order of events, each step safe to kill and rerun (``DIR/.kuaidi-move.json`` is the journal):

1. copy: the tree as it is — directories, files (each via a temp name, fsynced, renamed into
   place, times kept), symlinks with their text unchanged (HF's relative links stay relative);
   a file already at its final name with the right size was finished by an earlier run;
2. verify: every file's sha256 on the destination equals the source's; every link's text equal;
   only then is the leg marked ``verified`` in the journal;
3. remove the source, and leave a symlink from the old path to the new one, so a shell or job
   that still has the old variable (or ``kuaidi setup --undo``) finds the cache;
4. point the switchboard (setup's env file) at the new paths.

On the same filesystem (and without ``copy``) step 1–3 is one ``rename``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from kuaidi.cache.scan import lock_held
from kuaidi.errors import DiskFull, PathError, UsageError, VerificationFailed
from kuaidi.get import default_cache_dir
from kuaidi.model.digest import sha256_file
from kuaidi.model.hfpaths import cache_home
from kuaidi.store.atomic import fsync_dir, sweep_stale, symlink_atomic
from kuaidi.units import format_size

JOURNAL = ".kuaidi-move.json"
CHUNK = 8 << 20


@dataclass
class Leg:
    """One cache to move: ``source`` → ``dest``, announced to tools as ``env``."""

    name: str  # hf | modelscope | pip
    source: str
    dest: str
    env: str
    state: str = "planned"  # planned | copying | verified | removed
    bytes: int = 0
    method: str = "copy"  # copy | rename


def _home_cache(environ: Mapping[str, str], sub: str) -> Path:
    return cache_home(environ) / sub


def plan_legs(
    to: Path,
    *,
    cache_dir: Path | None = None,
    modelscope: bool = False,
    pip: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[Leg]:
    """Which caches move where (``to`` must be absolute)."""
    env = dict(os.environ) if environ is None else dict(environ)
    if not to.is_absolute():
        raise UsageError(f"--to {to} is not an absolute path", fix="give an absolute path")
    hf_src = Path(os.path.abspath(cache_dir if cache_dir is not None else default_cache_dir(env)))
    legs = [Leg("hf", str(hf_src), str(to / "hf" / "hub"), "HF_HUB_CACHE")]
    if modelscope:
        src = env.get("MODELSCOPE_CACHE") or str(_home_cache(env, "modelscope"))
        legs.append(Leg("modelscope", src, str(to / "modelscope"), "MODELSCOPE_CACHE"))
    if pip:
        src = env.get("PIP_CACHE_DIR") or str(_home_cache(env, "pip"))
        legs.append(Leg("pip", src, str(to / "pip"), "PIP_CACHE_DIR"))
    return legs


def _tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            if not p.is_symlink() and p.is_file():
                total += p.stat().st_size
    return total


def _check(leg: Leg, force_copy: bool) -> None:
    src, dest = Path(leg.source), Path(leg.dest)
    if src.is_symlink() and os.path.realpath(src) == os.path.realpath(dest):
        leg.state = "removed"  # an earlier run finished this leg
        return
    if not src.is_dir() and leg.state == "copying" and dest.is_dir():
        leg.state = "verified"  # killed right after the same-filesystem rename
        return
    if not src.is_dir():
        raise PathError(
            f"no {leg.name} cache at {src}", fix="pass --cache-dir DIR for the HF cache"
        )
    if os.path.realpath(src) == os.path.realpath(dest):
        raise UsageError(
            f"the {leg.name} cache is already at {dest}",
            fix="to move another one, name it: --cache-dir OLD_DIR",
        )
    rs, rd = Path(os.path.realpath(src)), Path(os.path.realpath(dest))
    if rs in rd.parents or rd in rs.parents:
        raise UsageError(f"{dest} and {src} are inside one another", fix="choose another --to")
    if leg.state == "planned" and dest.exists() and any(dest.iterdir()):
        raise PathError(
            f"{dest} already holds files; kuaidi moves a cache only into an empty place",
            fix="choose another --to, or empty that directory",
        )
    busy = [p for p in sorted(src.glob(".locks/*/*.lock")) if lock_held(p)]
    if busy:
        raise UsageError(
            f"a download is writing into {src} (it holds {busy[0]})",
            fix="let it finish or stop it, then run kuaidi cache move again",
        )
    leg.bytes = _tree_bytes(src)
    parent = next(p for p in (dest, *dest.parents) if p.exists())
    same_fs = os.stat(parent).st_dev == os.stat(src).st_dev
    leg.method = "rename" if same_fs and not force_copy and not dest.exists() else "copy"
    free = shutil.disk_usage(parent).free
    if leg.method == "copy" and leg.state == "planned" and free < leg.bytes:
        raise DiskFull(
            f"{format_size(leg.bytes)} to move but {format_size(free)} free at {parent}",
            fix="free space there, or choose another --to",
        )


class Journal:
    """``DIR/.kuaidi-move.json``: the legs and how far each got; replaced atomically."""

    def __init__(self, root: Path) -> None:
        self.path = root / JOURNAL

    def load(self) -> dict[str, Leg]:
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise PathError(f"{self.path} is unreadable", fix=f"remove {self.path}") from exc
        return {name: Leg(**leg) for name, leg in raw.get("legs", {}).items()}

    def save(self, legs: list[Leg]) -> None:
        tmp = self.path.with_name(f".{JOURNAL}.{os.getpid()}.kuaidi-tmp")
        tmp.write_text(json.dumps({"version": 1, "legs": {g.name: asdict(g) for g in legs}}))
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)


def _copy_file(src: Path, dest: Path) -> str:
    """Copy via a temp name (fsync, rename, times kept); the source's sha256."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.kuaidi-tmp")
    h = hashlib.sha256()
    with open(src, "rb") as fi, open(tmp, "wb") as fo:
        while chunk := fi.read(CHUNK):
            h.update(chunk)
            fo.write(chunk)
        fo.flush()
        os.fsync(fo.fileno())
    shutil.copystat(src, tmp)  # mtime/atime: prune's "last used" survives the move
    os.replace(tmp, dest)
    return h.hexdigest()


def _link_text(link: Path, src_root: Path, dest_root: Path) -> str:
    """A link's text for the copy: unchanged, unless absolute into the source (then re-aimed)."""
    text = os.readlink(link)
    if os.path.isabs(text) and Path(text).is_relative_to(src_root):
        return str(dest_root / Path(text).relative_to(src_root))
    return text


Progress = Callable[[str], None]


def copy_tree(src: Path, dest: Path, hashes: dict[str, str], say: Progress) -> None:
    """Step 1 (resumable): everything not yet at its final name in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    sweep_stale(dest)  # temp files a killed run left
    copied = 0
    for dirpath, dirs, names in os.walk(src):
        here = Path(dirpath)
        out = dest / here.relative_to(src)
        out.mkdir(exist_ok=True)
        for name in sorted([*names, *[d for d in dirs if (here / d).is_symlink()]]):
            s, d = here / name, out / name
            rel = s.relative_to(src).as_posix()
            if s.is_symlink():
                text = _link_text(s, src, dest)
                if not d.is_symlink() or os.readlink(d) != text:
                    symlink_atomic(text, d)
            elif s.is_file():
                if d.is_file() and not d.is_symlink() and d.stat().st_size == s.stat().st_size:
                    continue  # finished by an earlier run (files reach their name only whole)
                hashes[rel] = _copy_file(s, d)
                copied += s.stat().st_size
        fsync_dir(out)
    say(f"copied {format_size(copied)} to {dest}")


def verify_tree(src: Path, dest: Path, hashes: dict[str, str]) -> int:
    """Step 2: every file hashes equal, every link reads equal; a bad copy is made once more."""
    checked = 0
    for dirpath, dirs, names in os.walk(src):
        here = Path(dirpath)
        for name in [*names, *[d for d in dirs if (here / d).is_symlink()]]:
            s = here / name
            rel = s.relative_to(src).as_posix()
            d = dest / rel
            if s.is_symlink():
                if not d.is_symlink() or os.readlink(d) != _link_text(s, src, dest):
                    raise VerificationFailed(
                        f"link {rel} differs in {dest}", fix="rerun kuaidi cache move"
                    )
            elif s.is_file():
                want = hashes.get(rel) or sha256_file(s)
                if not d.is_file() or sha256_file(d) != want:
                    hashes[rel] = _copy_file(s, d)  # once more; then it must match
                    if sha256_file(d) != hashes[rel]:
                        raise VerificationFailed(
                            f"{rel} does not copy faithfully to {dest} (source left in place)",
                            fix=f"check the disk under {dest} (dmesg), then rerun",
                        )
                checked += 1
    return checked


def move(
    to: Path,
    *,
    cache_dir: Path | None = None,
    modelscope: bool = False,
    pip: bool = False,
    copy: bool = False,
    link: bool = True,
    dry_run: bool = False,
    switchboard: bool = True,
    home: Path | None = None,
    say: Progress = lambda _: None,
) -> dict[str, Any]:
    """Move the caches (see the module doc); returns the ``--json`` summary."""
    legs = plan_legs(to, cache_dir=cache_dir, modelscope=modelscope, pip=pip)
    journal = Journal(to)
    known = journal.load()
    for leg in legs:
        prior = known.get(leg.name)
        if prior is not None and (prior.source, prior.dest) == (leg.source, leg.dest):
            leg.state = prior.state
        _check(leg, copy)
    env = {leg.env: leg.dest for leg in legs}
    summary: dict[str, Any] = {"to": str(to), "dry_run": dry_run, "env": env}
    if dry_run:
        summary["legs"] = [asdict(g) for g in legs]
        return summary
    to.mkdir(parents=True, exist_ok=True)
    with FileLock(str(to / ".kuaidi-move.lock"), timeout=0.5):
        for leg in legs:
            _run_leg(leg, legs, journal, link, say)
        if switchboard:
            summary["env_files"] = [str(p) for p in _point(env, home)]
        journal.path.unlink(missing_ok=True)
    summary["legs"] = [asdict(g) for g in legs]
    return summary


def _point(env: dict[str, str], home: Path | None) -> list[Path]:
    from kuaidi.cache.switchboard import point_env

    return point_env(env, home)


def _run_leg(leg: Leg, legs: list[Leg], journal: Journal, link: bool, say: Progress) -> None:
    src, dest = Path(leg.source), Path(leg.dest)
    if leg.state == "removed":
        return
    if leg.method == "rename" and leg.state == "planned":
        dest.parent.mkdir(parents=True, exist_ok=True)
        leg.state = "copying"
        journal.save(legs)
        os.rename(src, dest)
        leg.state = "verified"
    if leg.state in ("planned", "copying"):
        leg.state = "copying"
        journal.save(legs)
        hashes: dict[str, str] = {}
        copy_tree(src, dest, hashes, say)
        n = verify_tree(src, dest, hashes)
        say(f"verified {n} files ({format_size(leg.bytes)}) in {dest}")
        leg.state = "verified"
    journal.save(legs)
    if src.exists() or src.is_symlink():
        if src.is_symlink():
            src.unlink()
        else:
            shutil.rmtree(src)
    if link:
        src.parent.mkdir(parents=True, exist_ok=True)
        symlink_atomic(str(dest), src)
    leg.state = "removed"
    journal.save(legs)
    say(f"{leg.name}: {src} → {dest} ({leg.method})")
