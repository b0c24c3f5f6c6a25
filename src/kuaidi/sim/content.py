"""Simulated repo content: deterministic files on disk, their hashes, commits and refs.

A :class:`RepoSpec` says what a repo holds; :class:`Catalog` materialises it once into a cache
dir (bytes + a sidecar with size, sha256 and git-blob sha1) and answers lookups by (type, id)::

    cat = Catalog(tmp_path, [RepoSpec("org/tiny", "config.json:1KB,model.safetensors:64KB")])
    repo = cat.get("model", "org/tiny")
    commit = repo.resolve("main")
    f = commit.files["model.safetensors"]      # RepoFile: size, sha256, git_sha1, lfs, blob_path

The repo model (``RepoSpec``, ``RepoFile``, ``Commit``, ``Repo``, files specs, the LFS rule) is
in :mod:`kuaidi.sim.repos` and byte generation in :mod:`kuaidi.sim.generate`; both are
re-exported here, so ``from kuaidi.sim.content import …`` is the one import others need.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from kuaidi.sim.generate import build_repo
from kuaidi.sim.repos import (
    GITATTRIBUTES,
    LFS_SUFFIXES,
    LFS_THRESHOLD,
    PRESETS,
    Commit,
    Gated,
    Repo,
    RepoFile,
    RepoSpec,
    RepoType,
    default_cache_dir,
    git_blob_sha1,
    is_lfs,
    lfs_pointer,
    parse_files,
    parse_repos,
)

__all__ = [
    "DEFAULT_REPOS",
    "DEFAULT_TOKENS",
    "GITATTRIBUTES",
    "LFS_SUFFIXES",
    "LFS_THRESHOLD",
    "PRESETS",
    "SIM_TOKEN",
    "SIM_TOKEN_NO_ACCESS",
    "Catalog",
    "Commit",
    "Gated",
    "Repo",
    "RepoFile",
    "RepoSpec",
    "RepoType",
    "default_cache_dir",
    "git_blob_sha1",
    "is_lfs",
    "lfs_pointer",
    "parse_files",
    "parse_repos",
]

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
        repo = build_repo(spec, self.cache_dir, variant="")
        with self._lock:
            self._repos[(spec.repo_type, spec.repo_id)] = repo
            for old in spec.renamed_from:
                self._renamed[(spec.repo_type, old)] = spec.repo_id
            ms_repo = repo
            if spec.modelscope_variant:
                ms_repo = build_repo(spec, self.cache_dir, variant="modelscope")
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
