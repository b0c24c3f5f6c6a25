"""Writing a repo's bytes once: deterministic content, hashed in the same pass, with a sidecar.

Blobs live under ``<cache>/blobs/<key[:2]>/<key>`` with ``<key>.json`` holding size, sha256 and
git blob sha1; the key hashes (seed, repo, path, size, content version), so reruns, parallel test
workers and several hosts share one copy. Writes are atomic (tmp + fsync + rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict

from kuaidi.sim.repos import (
    GITATTRIBUTES,
    Commit,
    Repo,
    RepoFile,
    RepoSpec,
    is_lfs,
    parse_files,
)


def _hex(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()


def build_repo(spec: RepoSpec, cache_dir: Path, variant: str = "") -> Repo:
    """Materialise ``spec`` under ``cache_dir`` (``variant`` gives other bytes, same names)."""
    if spec.source_dir is not None:
        return _build_from_dir(spec, cache_dir)
    files = parse_files(spec.files) if isinstance(spec.files, str) else list(spec.files)
    files = [(".gitattributes", len(GITATTRIBUTES)), *files]
    commits = []
    for index in range(max(1, spec.revisions)):
        sha = _hex(spec.seed, spec.repo_type, spec.repo_id, variant, "commit", index)
        entries = {}
        for path, size in files:
            version = 0 if is_lfs(path, size) or path == ".gitattributes" else index
            entries[path] = _materialise(spec, cache_dir, variant, path, size, version)
        title = "initial commit" if index == 0 else f"update {index}"
        date = f"2025-01-{index + 1:02d}T08:00:00.000Z"
        commits.append(Commit(sha, index, title, date, entries))
    refs = {"main": commits[-1].sha, "v1.0": commits[0].sha, "refs/pr/1": commits[0].sha}
    return Repo(spec, commits, refs)


def _build_from_dir(spec: RepoSpec, cache_dir: Path) -> Repo:
    root = spec.source_dir
    assert root is not None
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            entries[rel] = _hash_existing(full, rel, cache_dir)
    digest = _hex("dir", spec.repo_id, *(f"{p}:{f.sha256}" for p, f in sorted(entries.items())))
    commit = Commit(digest, 0, "local directory", "2025-01-01T08:00:00.000Z", entries)
    return Repo(spec, [commit], {"main": digest})


def _hash_existing(full: Path, rel: str, cache_dir: Path) -> RepoFile:
    stat = full.stat()
    key = _hex("file", full, stat.st_size, stat.st_mtime_ns)
    side = cache_dir / "hashes" / key[:2] / f"{key}.json"
    meta = _read_sidecar(side, stat.st_size)
    if meta is None:
        sha256, gsha1 = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % stat.st_size)
        with open(full, "rb") as fh:
            while chunk := fh.read(4 << 20):
                sha256.update(chunk)
                gsha1.update(chunk)
        meta = {"size": stat.st_size, "sha256": sha256.hexdigest(), "git_sha1": gsha1.hexdigest()}
        _write_atomic(side, json.dumps(meta).encode())
    return RepoFile(
        rel, stat.st_size, meta["sha256"], meta["git_sha1"], is_lfs(rel, stat.st_size), full
    )


class _Sidecar(TypedDict):
    """The JSON written next to a generated blob, so its hashes are not recomputed."""

    size: int
    sha256: str
    git_sha1: str


def _read_sidecar(side: Path, size: int) -> _Sidecar | None:
    try:
        meta = json.loads(side.read_text())
    except (OSError, ValueError):
        return None
    return meta if meta.get("size") == size else None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _materialise(
    spec: RepoSpec, cache_dir: Path, variant: str, path: str, size: int, version: int
) -> RepoFile:
    key = _hex("v1", spec.seed, spec.repo_type, spec.repo_id, variant, path, size, version)
    blob = cache_dir / "blobs" / key[:2] / key
    side = blob.with_name(key + ".json")
    meta = _read_sidecar(side, size) if blob.exists() and blob.stat().st_size == size else None
    if meta is None:
        meta = _generate(blob, path, size, int(key[:16], 16), spec, version)
        _write_atomic(side, json.dumps(meta).encode())
    return RepoFile(path, size, meta["sha256"], meta["git_sha1"], is_lfs(path, size), blob)


def _generate(
    blob: Path, path: str, size: int, seed: int, spec: RepoSpec, version: int
) -> _Sidecar:
    """Write ``size`` deterministic bytes for ``path`` (valid JSON/safetensors where it matters)."""
    blob.parent.mkdir(parents=True, exist_ok=True)
    tmp = blob.with_name(f".{blob.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    rng = random.Random(seed)
    sha256, gsha1 = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
    head = _head_bytes(path, size, rng, spec, version)
    with open(tmp, "wb") as fh:
        for chunk in _chunks(head, size, rng):
            sha256.update(chunk)
            gsha1.update(chunk)
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, blob)
    return {"size": size, "sha256": sha256.hexdigest(), "git_sha1": gsha1.hexdigest()}


def _chunks(head: bytes, size: int, rng: random.Random) -> Iterable[bytes]:
    yield head[:size]
    left = size - len(head)
    block = 4 << 20
    while left > 0:
        n = min(block, left)
        yield rng.randbytes(n)
        left -= n


def _head_bytes(path: str, size: int, rng: random.Random, spec: RepoSpec, version: int) -> bytes:
    name = Path(path).name
    if name == ".gitattributes":
        return GITATTRIBUTES
    if path.endswith(".json"):
        doc = {"kuaidi_sim": True, "repo": spec.repo_id, "path": path, "revision": version}
        text = json.dumps(doc)
        pad = size - len(text) - len(', "pad": ""')
        if pad > 0:
            doc["pad"] = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(pad))
        return json.dumps(doc).encode()[: max(size, len(text))].ljust(size, b" ")
    if path.endswith((".md", ".txt", ".csv")):
        line = f"kuaidi sim {spec.repo_id} {path} revision {version}\n".encode()
        return (line * (size // len(line) + 1))[:size]
    if path.endswith(".safetensors") and size >= 128:
        # A valid safetensors file: u64 header length, JSON header, then one U8 tensor. The
        # data length depends on the header's length, so iterate to the fixed point.
        template = b'{"weight":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}'
        n = size - 8 - 64
        for _ in range(8):
            header = template % (n, n)
            header += b" " * (-len(header) % 8)
            m = size - 8 - len(header)
            if m == n:
                return len(header).to_bytes(8, "little") + header
            n = m
    return b""
