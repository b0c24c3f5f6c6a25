"""What the user asked for: a repo argument (``org/name``, ``hf://…@rev/path``) and the files
of a listing it selects — names, folders and globs, as huggingface_hub and ``hf download``
read them. Pure: no requests, no disk.

>>> parse_repo("hf://datasets/org/d@main/data/")[1:]
('main', 'data/')
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from urllib.parse import unquote

from kuaidi.errors import EntryNotFound, UsageError
from kuaidi.model import RemoteFile, RepoRef, RepoType

__all__ = ["parse_repo", "select_checked", "select_files"]


def parse_repo(
    arg: str, repo_type: RepoType = "model"
) -> tuple[RepoRef | None, str | None, str | None]:
    """Split ``org/name`` or ``hf://[datasets/]org/name[@rev][/path]``.

    Returns ``(repo without revision applied, revision or None, path or None)``. A revision
    ``refs/pr/N`` or ``refs/convert/X`` keeps its slashes, as in ``HfFileSystem`` paths.

    >>> parse_repo("hf://datasets/org/data@v1/train/a.parquet")[1:]
    ('v1', 'train/a.parquet')
    >>> parse_repo("hf://org/m@refs/pr/1/sub/file")[1:]
    ('refs/pr/1', 'sub/file')
    """
    if not arg.startswith("hf://"):
        if arg.count("/") > 1 or not arg.strip("/"):
            raise UsageError(f"not a repo id: {arg!r}", fix="use org/name or hf://org/name")
        return RepoRef(arg.strip("/"), repo_type), None, None
    rest = arg[len("hf://") :]
    prefixes: tuple[tuple[str, RepoType], ...] = (("datasets/", "dataset"), ("models/", "model"))
    for prefix, kind in prefixes:
        if rest.startswith(prefix):
            rest, repo_type = rest[len(prefix) :], kind
            break
    parts = rest.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise UsageError(
            f"not a repo URL: {arg!r}", fix="use hf://[datasets/]org/name[@rev][/path]"
        )
    name, _, revision = parts[1].partition("@")
    tail = parts[2:]
    if revision == "refs":  # refs/pr/1, refs/convert/parquet: three segments
        if len(tail) < 2 or not tail[0] or not tail[1]:
            raise UsageError(f"incomplete revision in {arg!r}", fix="write it as @refs/pr/N")
        revision, tail = "/".join(["refs", *tail[:2]]), tail[2:]
    path = "/".join(tail) or None
    repo = RepoRef(f"{parts[0]}/{name}", repo_type)
    return repo, (unquote(revision) if revision else None), path


def _pattern(p: str) -> str:
    return p + "*" if p.endswith("/") else p  # "dir/" means everything under dir


_GLOB = set("*?[")


def select_files(
    files: list[RemoteFile],
    names: Sequence[str] = (),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[RemoteFile]:
    """Anchored selection, as huggingface_hub filters: fnmatch on the whole path (``*`` crosses
    ``/``); exact ``names`` (a folder name — ``data`` or ``data/`` — selects all under it) plus
    ``include`` globs (all when neither), minus ``exclude``.

    Raises EntryNotFound for a name that is neither a file nor a folder of the repo, UsageError
    for a name that is a glob (``--include '*.json' '*.bin'`` made the second a file name).

    >>> fs = [RemoteFile("a.md", 1, git_sha1="0"*40), RemoteFile("a.md.bak", 1, git_sha1="1"*40)]
    >>> [f.path for f in select_files(fs, exclude=["*.md"])]
    ['a.md.bak']
    """
    by_path = {f.path: f for f in files}
    folders: list[str] = []
    missing: list[str] = []
    for n in names:
        if n in by_path:
            continue
        prefix = n.strip("/") + "/"
        if n.strip("/") and any(p.startswith(prefix) for p in by_path):
            folders.append(prefix)
        else:
            missing.append(n)
    globs = [n for n in missing if _GLOB & set(n)]
    if globs:
        shown = " ".join(f"--include {g!r}" for g in [*include, *globs])
        raise UsageError(
            f"{', '.join(map(repr, globs))} is a pattern, given as a file name",
            fix=f"--include takes one pattern: repeat it for each, e.g. {shown}",
        )
    if missing:
        raise EntryNotFound(
            f"not in the repo at this revision: {', '.join(missing)}",
            fix="check the file names: paths are relative to the repo root",
        )
    inc = [_pattern(p) for p in include]
    exc = [_pattern(p) for p in exclude]
    wanted = set(names)
    out = []
    for f in files:
        chosen = (
            (not names and not inc)
            or f.path in wanted
            or any(f.path.startswith(d) for d in folders)
            or any(fnmatchcase(f.path, p) for p in inc)
        )
        if chosen and not any(fnmatchcase(f.path, p) for p in exc):
            out.append(f)
    return out


def select_checked(
    files: list[RemoteFile],
    names: Sequence[str],
    include: Sequence[str],
    exclude: Sequence[str],
    notes: list[str],
) -> list[RemoteFile]:
    """:func:`select_files`, but an empty selection is an error naming the patterns (an
    "ok: 0 files" would hide a typo), and a pattern matching nothing is noted."""
    chosen = select_files(files, names, include, exclude)
    idle = [p for p in include if not any(fnmatchcase(f.path, _pattern(p)) for f in files)]
    if not chosen and files:
        given = [*(f"--include {p!r}" for p in include), *(f"--exclude {p!r}" for p in exclude)]
        raise EntryNotFound(
            f"no file of the repo matches {' '.join(given) or 'the selection'}"
            f" ({len(files)} files at this revision)",
            fix="patterns are anchored and case-sensitive: '*.json', 'vae/' (see --dry-run)",
        )
    notes += [f"--include {p!r} matched no file" for p in idle if chosen]
    return chosen
