"""Simulated repo content: deterministic files on disk, their hashes, commits and refs.

A :class:`RepoSpec` says what a repo holds; :class:`Catalog` materialises it once into a cache
dir (bytes + a sidecar with size, sha256 and git-blob sha1) and answers lookups by (type, id)::

    cat = Catalog(tmp_path, [RepoSpec("org/tiny", "config.json:1KB,model.safetensors:64KB")])
    repo = cat.get("model", "org/tiny")
    commit = repo.resolve("main")
    f = commit.files["model.safetensors"]      # RepoFile: size, sha256, git_sha1, lfs, blob_path

Files spec: ``NAME:SIZE`` pairs joined by ``,`` (``config.json:1KB,model.safetensors:64MB``) or a
preset (see ``PRESETS``). Sizes are binary (1KB = 1024 B). Every repo also gets a
``.gitattributes`` like the Hub's.

LFS rule (one rule, used by every protocol): a file is LFS if its suffix is in ``LFS_SUFFIXES``
(weights, archives, parquet/arrow…) or it is at least 10 MiB. Other files are plain git blobs.

Revisions: ``revisions=N`` gives N deterministic commits, oldest first. Small files change in
every commit; LFS files keep their bytes (weights rarely change, and it saves disk). Refs:
``main`` → newest, ``v1.0`` → oldest, ``refs/pr/1`` → oldest.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs

from kuaidi.errors import KuaidiError
from kuaidi.sim.sizes import parse_size

RepoType = Literal["model", "dataset"]
Gated = Literal[False, "auto", "manual"]

LFS_SUFFIXES = frozenset(
    [
        ".safetensors",
        ".bin",
        ".pt",
        ".pth",
        ".ckpt",
        ".h5",
        ".onnx",
        ".gguf",
        ".msgpack",
        ".parquet",
        ".arrow",
        ".zip",
        ".gz",
        ".tar",
        ".npy",
        ".npz",
        ".model",
        ".tflite",
    ]
)
LFS_THRESHOLD = 10 * 1024 * 1024
PRESETS = {
    "tiny": "config.json:600B,tokenizer.json:2KB,README.md:300B,model.safetensors:64KB",
    "demo": "config.json:700B,generation_config.json:200B,tokenizer.json:12KB,"
    "tokenizer_config.json:400B,README.md:1KB,model.safetensors:6MB",
    "nested": "config.json:600B,unet/config.json:500B,unet/diffusion_model.safetensors:96KB,"
    "vae/config.json:400B,vae/diffusion_model.safetensors:48KB,README.md:300B",
    "sharded": "config.json:600B,model.safetensors.index.json:1KB,"
    "model-00001-of-00002.safetensors:12MB,model-00002-of-00002.safetensors:12MB",
    "bench-2g": "config.json:1KB,model-00001-of-00002.safetensors:1GB,"
    "model-00002-of-00002.safetensors:1GB",
}
GITATTRIBUTES = "".join(
    f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in sorted(LFS_SUFFIXES)
).encode()
SPEC_FIX = (
    "write NAME:SIZE pairs like config.json:1KB,model.safetensors:64MB, or a preset: "
    + ", ".join(PRESETS)
)


def is_lfs(path: str, size: int) -> bool:
    """The sim's one LFS rule (see module docstring)."""
    return Path(path).suffix.lower() in LFS_SUFFIXES or size >= LFS_THRESHOLD


def parse_files(spec: str) -> list[tuple[str, int]]:
    """``parse_files("config.json:1KB,m.bin:2MB") == [("config.json", 1024), ("m.bin", 2097152)]``.

    Raises KuaidiError naming the bad token.
    """
    spec = PRESETS.get(spec.strip(), spec)
    out: list[tuple[str, int]] = []
    for token in spec.split(","):
        name, sep, size = token.strip().rpartition(":")
        if not sep or not name or name.startswith("/") or ".." in name.split("/"):
            raise KuaidiError(f"bad size spec token {token.strip()!r}", fix=SPEC_FIX)
        try:
            out.append((name, parse_size(size)))
        except KuaidiError:
            raise KuaidiError(f"bad size spec token {token.strip()!r}", fix=SPEC_FIX) from None
    return out


def parse_repos(text: str) -> list[RepoSpec]:
    """Repos from ``[datasets/]org/name=FILES`` items joined by ``;``; a bare FILES spec means
    ``kuaidi-sim/model``. ``parse_repos("me/a=tiny;datasets/me/d=x.csv:1KB")``.

    Raises KuaidiError naming the bad item or token.
    """
    specs = []
    for item in (i.strip() for i in text.split(";")):
        if not item:
            continue
        name, sep, files = item.partition("=")
        if not sep:
            name, files = "kuaidi-sim/model", item
        repo_type: RepoType = "model"
        if name.startswith("datasets/"):
            repo_type, name = "dataset", name[len("datasets/") :]
        if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name):
            raise KuaidiError(
                f"bad repo id {name!r} in --repos", fix="write org/name=FILES, e.g. me/tiny=tiny"
            )
        parse_files(files)  # fail early, naming the token
        specs.append(RepoSpec(name, files, repo_type=repo_type))
    return specs


def git_blob_sha1(data: bytes) -> str:
    """Git's blob id: ``sha1(b"blob <len>\\0" + data)`` (= ``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file a Hub repo stores in git for an LFS file."""
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    )


def default_cache_dir() -> Path:
    """Where generated content lives unless a cache dir is given (user cache, reused)."""
    return Path(platformdirs.user_cache_dir("kuaidi")) / "sim"


@dataclass(frozen=True)
class RepoSpec:
    """What one simulated repo holds. ``files`` is a files spec string or (name, size) pairs.

    ``modelscope_id``: the id under which the ModelScope host publishes it (e.g. HF
    ``meta-llama/X`` ↔ MS ``LLM-Research/X``); ``modelscope_variant``: ModelScope's copy has
    different bytes (same names and sizes). ``source_dir``: serve a real local directory instead
    of generated bytes (one commit).
    """

    repo_id: str
    files: str | Sequence[tuple[str, int]] = "tiny"
    repo_type: RepoType = "model"
    seed: int = 0
    revisions: int = 2
    gated: Gated = False
    private: bool = False
    renamed_from: tuple[str, ...] = ()
    modelscope_id: str | None = None
    modelscope_variant: bool = False
    source_dir: Path | None = None

    @classmethod
    def from_dir(cls, path: str | Path, repo_id: str, repo_type: RepoType = "model") -> RepoSpec:
        """Serve the real directory ``path`` as ``repo_id`` (dot-directories are skipped)."""
        root = Path(path)
        if not root.is_dir():
            raise KuaidiError(f"{root} is not a directory", fix="pass an existing directory")
        return cls(repo_id, files=(), repo_type=repo_type, revisions=1, source_dir=root.resolve())


@dataclass(frozen=True)
class RepoFile:
    """One file of one commit, with everything a protocol needs to list and serve it."""

    path: str
    size: int
    sha256: str
    git_sha1: str  # of the content; for LFS files the git oid is the pointer's (``oid``)
    lfs: bool
    blob_path: Path

    @property
    def pointer(self) -> bytes:
        return lfs_pointer(self.sha256, self.size)

    @property
    def oid(self) -> str:
        """The git blob id the Hub lists (the pointer's for LFS files)."""
        return git_blob_sha1(self.pointer) if self.lfs else self.git_sha1

    @property
    def etag(self) -> str:
        """The name huggingface_hub gives the blob: sha256 for LFS, git sha1 otherwise."""
        return self.sha256 if self.lfs else self.git_sha1


@dataclass
class Commit:
    sha: str
    index: int
    title: str
    date: str  # ISO-8601, as the Hub's lastModified
    files: dict[str, RepoFile]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files.values())


@dataclass
class Repo:
    spec: RepoSpec
    commits: list[Commit]
    refs: dict[str, str]
    variant_of: Repo | None = None

    @property
    def repo_id(self) -> str:
        return self.spec.repo_id

    @property
    def repo_type(self) -> RepoType:
        return self.spec.repo_type

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def resolve(self, revision: str, *, stale: int = 0) -> Commit | None:
        """The commit a ref, tag or 40-hex sha names; ``stale=k`` makes ``main`` lag k commits
        (a mirror that has not synced). None if unknown."""
        by_sha = {c.sha: c for c in self.commits}
        if revision in by_sha:
            return by_sha[revision]
        sha = self.refs.get(revision)
        if sha is None:
            return None
        commit = by_sha[sha]
        if revision == "main" and stale:
            return self.commits[max(0, commit.index - stale)]
        return commit


class Catalog:
    """All simulated repos, by (type, id); content is generated once into ``cache_dir``.

    ``tokens`` maps valid tokens to whether they were granted access to gated repos.
    """

    def __init__(
        self,
        cache_dir: Path | str | None = None,
        specs: Iterable[RepoSpec] = (),
        *,
        tokens: dict[str, bool] | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.tokens: dict[str, bool] = dict(tokens if tokens is not None else DEFAULT_TOKENS)
        self._repos: dict[tuple[str, str], Repo] = {}
        self._renamed: dict[tuple[str, str], str] = {}
        self._ms: dict[tuple[str, str], Repo] = {}
        self._blobs: dict[str, RepoFile] = {}
        self._lock = threading.Lock()
        for spec in specs:
            self.add(spec)

    @property
    def repos(self) -> list[Repo]:
        return list(self._repos.values())

    def add(self, spec: RepoSpec) -> Repo:
        """Generate (or reuse) the repo's content and register it."""
        repo = _build(spec, self.cache_dir, variant="")
        with self._lock:
            self._repos[(spec.repo_type, spec.repo_id)] = repo
            for old in spec.renamed_from:
                self._renamed[(spec.repo_type, old)] = spec.repo_id
            ms_repo = repo
            if spec.modelscope_variant:
                ms_repo = _build(spec, self.cache_dir, variant="modelscope")
                ms_repo.variant_of = repo
            if spec.modelscope_id:
                self._ms[(spec.repo_type, spec.modelscope_id)] = ms_repo
            for r in {id(repo): repo, id(ms_repo): ms_repo}.values():
                for commit in r.commits:
                    for f in commit.files.values():
                        self._blobs.setdefault(f.sha256, f)
        return repo

    def get(self, repo_type: str, repo_id: str) -> Repo | None:
        """The HF-side repo, or None."""
        return self._repos.get((repo_type, repo_id))

    def renamed(self, repo_type: str, repo_id: str) -> str | None:
        """The new id of a renamed repo, or None."""
        return self._renamed.get((repo_type, repo_id))

    def modelscope(self, repo_type: str, ms_id: str) -> Repo | None:
        """The repo ModelScope publishes as ``ms_id`` (its own bytes if ``modelscope_variant``)."""
        return self._ms.get((repo_type, ms_id))

    def blob(self, sha256: str) -> RepoFile | None:
        """Any file with this content (CDN hosts serve by content hash)."""
        return self._blobs.get(sha256)

    def token_access(self, token: str | None) -> str:
        """ "none" (no token), "invalid", "user" (valid, not granted gated repos) or "granted"."""
        if not token:
            return "none"
        if token not in self.tokens:
            return "invalid"
        return "granted" if self.tokens[token] else "user"


SIM_TOKEN = "hf_kuaidiSimGrantedToken000000000000"
SIM_TOKEN_NO_ACCESS = "hf_kuaidiSimNoAccessToken00000000000"
DEFAULT_TOKENS = {SIM_TOKEN: True, SIM_TOKEN_NO_ACCESS: False}

DEFAULT_REPOS = (
    RepoSpec(
        "kuaidi-sim/tiny-model",
        "tiny",
        modelscope_id="kuaidi-sim/tiny-model",
        renamed_from=("kuaidi-sim/old-tiny-model",),
    ),
    RepoSpec(
        "kuaidi-sim/tiny-dataset",
        "data/train.csv:4KB,data/test.csv:2KB,README.md:300B,data/train-00000.parquet:32KB",
        repo_type="dataset",
        modelscope_id="kuaidi-sim/tiny-dataset",
    ),
    RepoSpec("kuaidi-sim/nested-model", "nested"),
    RepoSpec("kuaidi-sim/gated-model", "tiny", gated="manual", seed=7),
    RepoSpec("kuaidi-sim/private-model", "tiny", private=True, seed=8),
    RepoSpec("kuaidi-sim/demo-model", "demo", modelscope_id="kuaidi-sim/demo-model", seed=1),
    RepoSpec(
        "meta-llama/Llama-Sim-1B",
        "tiny",
        gated="manual",
        seed=2,
        modelscope_id="LLM-Research/Llama-Sim-1B",
    ),
    RepoSpec(
        "Qwen/Qwen-Sim-0.5B",
        "tiny",
        seed=3,
        modelscope_id="Qwen/Qwen-Sim-0.5B",
        modelscope_variant=True,
    ),
)


# --- generation -------------------------------------------------------------------------------


def _hex(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()


def _build(spec: RepoSpec, cache_dir: Path, variant: str) -> Repo:
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


def _read_sidecar(side: Path, size: int) -> dict | None:
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
) -> dict[str, object]:
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
