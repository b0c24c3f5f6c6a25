"""The tools the suite runs side by side, each as a command line (and environment) for one job.

A peer only says how to start itself; everything measured (wall, CPU, RSS, bytes served, TCP
connections, the sha256 of every byte) is measured from outside by :mod:`bench.measure`, so no
tool's own output is ever parsed. Every peer writes the repo's files under ``job.dest``.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Job:
    """One download: which repo, from which sim hosts, into which directory."""

    repo_id: str
    paths: tuple[str, ...]  # every file of the repo (aria2c and curl get a URL list)
    hf_endpoint: str
    ms_endpoint: str
    work: Path  # per-run scratch: HOME, caches, URL lists; dest lives under it
    repo_type: str = "model"

    @property
    def dest(self) -> Path:
        return self.work / "out"

    def resolve_url(self, path: str) -> str:
        kind = "" if self.repo_type == "model" else f"{self.repo_type}s/"
        return f"{self.hf_endpoint}/{kind}{self.repo_id}/resolve/main/{path}"


def base_env(job: Job) -> dict[str, str]:
    """A clean environment: no proxies, no user HF/ModelScope settings, a private HOME."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "MODELSCOPE_", "KUAIDI_", "http", "HTTP", "all_", "ALL_"))
    }
    return keep | {
        "HOME": str(job.work / "home"),
        "HF_ENDPOINT": job.hf_endpoint,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(job.work / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "NO_PROXY": "*",
        "no_proxy": "*",
    }


class Peer(Protocol):
    """A tool under test: ``name`` in tables, ``command`` to run it for a job."""

    name: str

    def command(self, job: Job) -> tuple[list[str], dict[str, str]]: ...


@dataclass(frozen=True)
class Kuaidi:
    name: str = "kuaidi"
    connections: int = 16
    # Single-source scenarios switch ModelScope off: the sim's ModelScope lists the same repo,
    # and taking half the bytes from it would double kuaidi's link.
    extra: tuple[str, ...] = ("--modelscope-endpoint", "none")

    def command(self, job: Job) -> tuple[list[str], dict[str, str]]:
        argv = [str(BIN / "kuaidi"), "get", job.repo_id, "--repo-type", job.repo_type, "-q"]
        argv += ["--local-dir", str(job.dest), "--endpoint", job.hf_endpoint]
        argv += ["--connections", str(self.connections)]
        extra = [job.ms_endpoint if a == "{ms}" else a for a in self.extra]
        return [*argv, *extra], base_env(job) | {"MODELSCOPE_ENDPOINT": job.ms_endpoint}


@dataclass(frozen=True)
class HfDownload:
    """``hf download`` (huggingface_hub 2.x), plain HTTP (``HF_HUB_DISABLE_XET=1``)."""

    name: str = "hf"
    workers: int = 8

    def command(self, job: Job) -> tuple[list[str], dict[str, str]]:
        argv = [str(BIN / "hf"), "download", job.repo_id, "--repo-type", job.repo_type]
        argv += ["--local-dir", str(job.dest), "--max-workers", str(self.workers)]
        return argv, base_env(job)


@dataclass(frozen=True)
class Aria2c:
    """aria2c over a URL list (one entry per file with ``dir=``/``out=``, as hfd.sh writes it);
    the listing hfd.sh does first is not timed."""

    name: str
    args: tuple[str, ...]

    def command(self, job: Job) -> tuple[list[str], dict[str, str]]:
        lines = []
        for path in job.paths:
            lines += [job.resolve_url(path), f" dir={job.dest}", f" out={path}"]
        listing = job.work / "aria2c-urls.txt"
        listing.write_text("\n".join(lines) + "\n")
        exe = shutil.which("aria2c") or "/usr/bin/aria2c"
        argv = [exe, "--console-log-level=error", "--summary-interval=0", "--file-allocation=none"]
        argv += ["--no-conf", *self.args, "-c", "-i", str(listing)]
        return argv, base_env(job)


@dataclass(frozen=True)
class ModelScope:
    """modelscope's ``snapshot_download`` against the sim's ModelScope host."""

    name: str = "modelscope"

    def command(self, job: Job) -> tuple[list[str], dict[str, str]]:
        fn = "snapshot_download" if job.repo_type == "model" else "dataset_snapshot_download"
        code = f"from modelscope import {fn} as d; d({job.repo_id!r}, local_dir={str(job.dest)!r})"
        env = base_env(job) | {
            "MODELSCOPE_ENDPOINT": job.ms_endpoint,
            "MODELSCOPE_CACHE": str(job.work / "ms-cache"),
        }
        return [sys.executable, "-c", code], env


@dataclass(frozen=True)
class Curl:
    """curl, one stream: every file in turn over one kept-alive connection."""

    name: str = "curl"
    args: tuple[str, ...] = field(default=())

    def command(self, job: Job) -> tuple[list[str], dict[str, str]]:
        exe = shutil.which("curl") or "/usr/bin/curl"
        # --fail-early: curl otherwise exits with the last transfer's status only.
        # A config file, not argv: a repo of thousands of files would not fit a command line.
        config = job.work / "curl.cfg"
        lines = [f'url = "{job.resolve_url(p)}"\noutput = "{job.dest / p}"' for p in job.paths]
        config.write_text("\n".join(lines) + "\n")
        argv = [
            exe,
            "-sS",
            "--fail",
            "--fail-early",
            "-L",
            "--create-dirs",
            *self.args,
            "-K",
            str(config),
        ]
        return argv, base_env(job)


ARIA2C_HFD = Aria2c("aria2c hfd", ("-x", "4", "-j", "5", "-s", "4", "-k", "1M"))
ARIA2C_X16 = Aria2c("aria2c -x16", ("-x", "16", "-s", "16", "-j", "5", "-k", "1M"))

PEERS: dict[str, Peer] = {
    p.name: p for p in (Kuaidi(), ARIA2C_HFD, ARIA2C_X16, HfDownload(), ModelScope(), Curl())
}
