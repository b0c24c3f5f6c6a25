"""The repo model every protocol serves: specs, files, commits, refs, and the size-spec parser.

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
import re
from collections.abc import Sequence
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
