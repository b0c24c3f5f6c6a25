"""A bundle's manifest (``kuaidi-bundle.json``): every file with size, sha256 and what it is, every
symlink with its text. A bundle is a directory, or the same tree in a tar (symlinks kept)::

    kuaidi-bundle.json
    hf/hub/models--org--name/{blobs,snapshots,refs,trees}/…   the HF cache layout, links relative
    wheels/*.whl                                              for pip --no-index --find-links
    requirements.txt                                          what the wheels were resolved for
    kuaidi/kuaidi-*.whl                                       kuaidi itself (unless --no-kuaidi)
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kuaidi.errors import PathError, VerificationFailed
from kuaidi.model.digest import sha256_stream

MANIFEST = "kuaidi-bundle.json"
FORMAT = 1


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    sha256: str
    kind: str  # hf-blob | hf-ref | hf-tree | wheel | kuaidi-wheel | requirements | other


@dataclass(frozen=True)
class Link:
    path: str
    target: str


@dataclass
class Manifest:
    repos: list[dict[str, str]] = field(default_factory=list)
    files: list[Entry] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    target: dict[str, str | None] = field(default_factory=dict)  # python, platform
    kuaidi_version: str = ""
    format: int = FORMAT

    def to_text(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_text(cls, text: str, where: str) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT:
                raise ValueError(f"format {raw.get('format')!r}")
            return cls(
                repos=list(raw["repos"]),
                files=[Entry(**e) for e in raw["files"]],
                links=[Link(**k) for k in raw["links"]],
                target=dict(raw.get("target", {})),
                kuaidi_version=raw.get("kuaidi_version", ""),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VerificationFailed(
                f"{where} is not a kuaidi bundle manifest ({exc})",
                fix="create the bundle again: kuaidi bundle create",
            ) from exc

    @property
    def total(self) -> int:
        return sum(e.size for e in self.files)


def kind_of(rel: str) -> str:
    parts = rel.split("/")
    if parts[0] == "hf" and len(parts) > 4:
        return {"blobs": "hf-blob", "refs": "hf-ref", "trees": "hf-tree"}.get(parts[3], "other")
    if parts[0] == "wheels" and rel.endswith(".whl"):
        return "wheel"
    if parts[0] == "kuaidi" and rel.endswith(".whl"):
        return "kuaidi-wheel"
    return "requirements" if rel == "requirements.txt" else "other"


def walk(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix path, path) of every file and symlink under ``root``, sorted."""
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        here = Path(dirpath)
        for name in sorted([*names, *[d for d in dirs if (here / d).is_symlink()]]):
            p = here / name
            yield p.relative_to(root).as_posix(), p


def build(root: Path, **fields: Any) -> Manifest:
    """The manifest of the tree at ``root`` (temp files of live writers excluded)."""
    m = Manifest(**fields)
    for rel, p in walk(root):
        if rel == MANIFEST or p.name.endswith((".kuaidi-tmp", ".kuaidi-part")):
            continue
        if p.is_symlink():
            m.links.append(Link(rel, os.readlink(p)))
        else:
            with open(p, "rb") as f:
                m.files.append(Entry(rel, p.stat().st_size, sha256_stream(f), kind_of(rel)))
    return m


def _bad(rel: str, entry: Entry, size: int, digest: str | None) -> str:
    if size != entry.size:
        return f"{rel}: {size} bytes, the manifest says {entry.size}"
    return f"{rel}: sha256 {(digest or '')[:12]}… is not the manifest's {entry.sha256[:12]}…"


def check_dir(root: Path) -> tuple[Manifest, list[str]]:
    """Re-hash a directory bundle against its manifest: (manifest, problems)."""
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise PathError(f"{root} is not a kuaidi bundle (no {MANIFEST})", fix="check the path")
    m = Manifest.from_text(mpath.read_text("utf-8"), str(mpath))
    problems = []
    for e in m.files:
        p = root / e.path
        if not p.is_file() or p.is_symlink():
            problems.append(f"{e.path}: missing")
            continue
        size = p.stat().st_size
        digest = None
        if size == e.size:
            with open(p, "rb") as f:
                digest = sha256_stream(f)
        if digest != e.sha256:
            problems.append(_bad(e.path, e, size, digest))
    for k in m.links:
        p = root / k.path
        if not p.is_symlink() or os.readlink(p) != k.target:
            problems.append(f"{k.path}: link missing or changed (want → {k.target})")
    return m, problems


def check_tar(path: Path) -> tuple[Manifest, list[str]]:
    """Stream a tar bundle once, hashing every member against the manifest (its first member)."""
    problems: list[str] = []
    try:
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as exc:
        raise PathError(f"{path} is not a readable tar ({exc})", fix="check the path") from exc
    with tar:
        first = tar.next()
        if first is None or first.name != MANIFEST:
            raise VerificationFailed(
                f"{path} does not start with {MANIFEST}", fix="create it with kuaidi bundle --tar"
            )
        fobj = tar.extractfile(first)
        assert fobj is not None
        m = Manifest.from_text(fobj.read().decode("utf-8"), f"{path}:{MANIFEST}")
        files = {e.path: e for e in m.files}
        links = {k.path: k for k in m.links}
        seen: set[str] = set()
        for member in tar:
            if member.name == MANIFEST:
                continue
            seen.add(member.name)
            if member.issym():
                want = links.get(member.name)
                if want is None or member.linkname != want.target:
                    problems.append(f"{member.name}: link not in the manifest or changed")
            elif member.isfile():
                entry = files.get(member.name)
                f = tar.extractfile(member)
                digest = sha256_stream(f) if f is not None else ""
                if entry is None:
                    problems.append(f"{member.name}: not in the manifest")
                elif digest != entry.sha256 or member.size != entry.size:
                    problems.append(_bad(member.name, entry, member.size, digest))
        problems += [f"{p}: missing" for p in [*files, *links] if p not in seen]
    return m, problems


def check(path: Path) -> tuple[Manifest, list[str]]:
    """Directory or tar bundle."""
    if path.is_dir():
        return check_dir(path)
    if not path.exists():
        raise PathError(f"no bundle at {path}", fix="check the path")
    return check_tar(path)


def refuse(path: Path, problems: list[str]) -> None:
    """VerificationFailed naming the first bad file (and how many more)."""
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VerificationFailed(
            f"bundle {path} is damaged: {problems[0]}{more}; nothing was installed",
            fix="copy the bundle again (kuaidi bundle verify lists every bad file)",
        )
