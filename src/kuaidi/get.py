"""``kuaidi.get.download``: deliver a Hugging Face repo (or some of its files) onto this box.

The plain-function API under ``kuaidi get``::

    from kuaidi.get import download
    result = download("Qwen/Qwen2.5-0.5B", include=["*.json", "*.safetensors"])
    assert result.ok
    print(result.path)   # .../hub/models--Qwen--Qwen2.5-0.5B/snapshots/<commit>

Defaults follow huggingface_hub (``HF_ENDPOINT``, ``HF_HUB_CACHE``/``HF_HOME``, ``HF_TOKEN``), so
the result is where ``from_pretrained`` already looks. The bytes come from the route ladder —
HF mirrors, then ModelScope, then the origin through a proxy — planned per file by
:mod:`kuaidi.sources.runplan` over the sources :mod:`kuaidi.sources.select` builds.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from kuaidi.errors import KuaidiError
from kuaidi.sources.base import RemoteFile, RepoRef
from kuaidi.sources.runplan import Ladder, plan_download
from kuaidi.sources.select import RunSources, SourceConfig, make_scope
from kuaidi.store.hf_cache import HFCacheTarget
from kuaidi.store.local_dir import LocalDirTarget
from kuaidi.store.local_dir import admit as admit_local
from kuaidi.transfer.engine import Engine
from kuaidi.transfer.job import EngineOptions, FileOutcome, Outcomes
from kuaidi.transfer.progress import Events, make_progress


@dataclass
class Result(Outcomes):
    """What a download delivered; ``ok`` only when every file asked for is present and verified."""

    repo_id: str
    repo_type: str
    revision: str
    commit: str
    path: str
    files: list[FileOutcome] = field(default_factory=list)
    bytes_total: int = 0
    bytes_fetched: int = 0
    retries: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    ladder: Ladder | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` summary (never contains the token)."""
        return {
            "ok": self.ok,
            "repo_id": self.repo_id,
            "repo_type": self.repo_type,
            "revision": self.revision,
            "commit": self.commit,
            "path": self.path,
            "dry_run": self.dry_run,
            "files": [asdict(f) for f in self.files],
            "bytes": self.bytes_total,
            "bytes_fetched": self.bytes_fetched,
            "retries": self.retries,
            "verified": sum(1 for f in self.files if f.status != "failed")
            if not self.dry_run
            else 0,
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "seconds": round(self.seconds, 3),
            # The route ladder: per file, the sources that may serve it in order and why
            # (each file's "sources" above says which ones actually did).
            "plan": self.ladder.plan_json() if self.ladder else {},
            "ladder": self.ladder.ladder_json() if self.ladder else {},
        }


# -- defaults as huggingface_hub reads them ---------------------------------------------------
def _hf_home(env: dict[str, str]) -> Path:
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "huggingface"


def default_cache_dir(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    value = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
    return Path(value).expanduser() if value else _hf_home(env) / "hub"


def default_token(env: dict[str, str] | None = None) -> str | None:
    env = dict(os.environ) if env is None else env
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if env.get(name, "").strip():
            return env[name].strip()
    path = Path(env["HF_TOKEN_PATH"]) if env.get("HF_TOKEN_PATH") else _hf_home(env) / "token"
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


# -- arguments --------------------------------------------------------------------------------
def parse_repo(arg: str, repo_type: str = "model") -> tuple[RepoRef | None, str | None, str | None]:
    """Split ``org/name`` or ``hf://[datasets/]org/name[@rev][/path]``.

    Returns ``(repo without revision applied, revision or None, path or None)``.

    >>> parse_repo("hf://datasets/org/data@v1/train/a.parquet")[1:]
    ('v1', 'train/a.parquet')
    """
    if not arg.startswith("hf://"):
        if arg.count("/") > 1 or not arg.strip("/"):
            raise KuaidiError(f"not a repo id: {arg!r}", fix="use org/name or hf://org/name")
        return RepoRef(arg.strip("/"), repo_type), None, None  # type: ignore[arg-type]
    rest = arg[len("hf://") :]
    for prefix, kind in (("datasets/", "dataset"), ("models/", "model")):
        if rest.startswith(prefix):
            rest, repo_type = rest[len(prefix) :], kind
            break
    parts = rest.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise KuaidiError(
            f"not a repo URL: {arg!r}", fix="use hf://[datasets/]org/name[@rev][/path]"
        )
    name, _, revision = parts[1].partition("@")
    path = "/".join(parts[2:]) or None
    repo = RepoRef(f"{parts[0]}/{name}", repo_type)  # type: ignore[arg-type]
    return repo, (unquote(revision) if revision else None), path


def _pattern(p: str) -> str:
    return p + "*" if p.endswith("/") else p  # "dir/" means everything under dir


def select_files(
    files: list[RemoteFile],
    names: Sequence[str] = (),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[RemoteFile]:
    """Anchored selection, as huggingface_hub filters: fnmatch on the whole path (``*`` crosses
    ``/``); exact ``names`` plus ``include`` globs (all when neither), minus ``exclude``.

    >>> fs = [RemoteFile("a.md", 1, git_sha1="0"*40), RemoteFile("a.md.bak", 1, git_sha1="1"*40)]
    >>> [f.path for f in select_files(fs, exclude=["*.md"])]
    ['a.md.bak']
    """
    by_path = {f.path: f for f in files}
    missing = [n for n in names if n not in by_path]
    if missing:
        raise KuaidiError(
            f"not in the repo at this revision: {', '.join(missing)}",
            fix="check the file names: paths are relative to the repo root",
        )
    inc = [_pattern(p) for p in include]
    exc = [_pattern(p) for p in exclude]
    wanted = set(names)
    out = []
    for f in files:
        chosen = (
            (not names and not inc) or f.path in wanted or any(fnmatchcase(f.path, p) for p in inc)
        )
        if chosen and not any(fnmatchcase(f.path, p) for p in exc):
            out.append(f)
    return out


def download(
    repo_id: str,
    files: Sequence[str] = (),
    *,
    repo_type: str = "model",
    revision: str | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    cache_dir: str | Path | None = None,
    local_dir: str | Path | None = None,
    endpoint: str | Sequence[str] | None = None,
    token: str | bool | None = None,
    connections: int = 8,
    stall_timeout: float = 20.0,
    max_retries: int = 8,
    min_speed: int | None = None,
    journal_every: int | None = None,
    proxy: str | None = None,
    modelscope_endpoint: str | None = None,
    origin: str | None = None,
    origin_hosts: Sequence[str] = (),
    network_turbo: str | Path | None = None,
    source: str | None = None,
    allow_modelscope_only: bool = False,
    dry_run: bool = False,
    events: Events | None = None,
    client: httpx.Client | None = None,
    on_plan: Callable[[Ladder], None] | None = None,
) -> Result:
    """Download a repo (or ``files`` of it) into the HF cache or ``local_dir``; see module doc.

    Sources (the route ladder, :mod:`kuaidi.sources.select`): ``endpoint`` — one mirror URL or
    several, in order (default HF_ENDPOINT, else hf-mirror.com); ``modelscope_endpoint``
    (``"none"`` turns ModelScope off); ``origin`` and ``origin_hosts`` (used only through a
    proxy: ``proxy``, KUAIDI_PROXY, the shell's, or the ``network_turbo`` file); ``source``
    forces one kind (``mirror``/``hf-mirror``, ``modelscope``, ``origin``). ``on_plan`` sees
    the plan before any byte moves (``--explain``).

    ``token=False`` sends no token even when HF_TOKEN is set. Raises KuaidiError for bad input
    or when no source can list the repo; per-file failures are in ``Result.failed``.
    """
    t0 = time.monotonic()
    if repo_type not in ("model", "dataset"):
        raise KuaidiError(f"unknown repo type {repo_type!r}", fix="use --repo-type model|dataset")
    if cache_dir is not None and local_dir is not None:
        raise KuaidiError("both --cache-dir and --local-dir given", fix="choose one of them")
    if connections < 1:
        raise KuaidiError(f"--connections must be >= 1, got {connections}", fix="e.g. 8")
    repo0, url_rev, url_path = parse_repo(repo_id, repo_type)
    assert repo0 is not None
    rev = revision or url_rev or "main"
    repo = RepoRef(repo0.repo_id, repo0.repo_type, rev)
    names = [*([url_path] if url_path else []), *files]
    config = SourceConfig.from_args(
        endpoint=endpoint,
        modelscope_endpoint=modelscope_endpoint,
        origin=origin,
        origin_hosts=origin_hosts,
        source=source,
        allow_modelscope_only=allow_modelscope_only,
    )
    scope = make_scope(proxy, network_turbo, config)
    tok = None if token is False else (token if isinstance(token, str) else default_token())
    run = RunSources(
        config,
        scope,
        tok,
        # The read timeout doubles as the stall watchdog: no byte for stall_timeout → requeue.
        timeout=httpx.Timeout(connect=15.0, read=stall_timeout, write=30.0, pool=None),
        limits=httpx.Limits(
            max_connections=connections * 2, max_keepalive_connections=connections * 2
        ),
        retries=min(4, max_retries),
        client=client,
    )
    try:
        ladder = plan_download(run, repo)
        listing = ladder.reference
        chosen = select_files(listing.files, names, include, exclude)
        if local_dir is not None:  # repo files in .cache/huggingface/ would clobber metadata
            chosen = admit_local(chosen)
        ladder.only([f.path for f in chosen])
        commit = ladder.plan.commit
        if local_dir is not None:
            target: HFCacheTarget | LocalDirTarget = LocalDirTarget(Path(local_dir), commit)
        else:
            cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
            target = HFCacheTarget(cache, repo, commit)
        result = Result(
            repo.repo_id,
            repo.repo_type,
            rev,
            commit,
            "",
            bytes_total=sum(f.size for f in chosen),
            dry_run=dry_run,
            ladder=ladder,
        )
        if on_plan is not None:
            on_plan(ladder)
        if dry_run:
            result.files = [FileOutcome(f.path, f.size, "planned") for f in chosen]
            result.path = str(target.snapshot if isinstance(target, HFCacheTarget) else target.root)
            result.seconds = time.monotonic() - t0
            return result
        target.prepare()
        opts = EngineOptions(
            connections=connections, stall_timeout=stall_timeout, max_retries=max_retries
        )
        if journal_every is not None:
            opts = dataclasses.replace(opts, flush_bytes=max(64 * 1024, journal_every))
        if min_speed is not None:
            opts = dataclasses.replace(opts, min_speed=min_speed)
        report = Engine(target, opts, events or make_progress("quiet")).run(ladder.jobs())
        gated = [f for f in report.failed if "GatedRepo" in (f.error or "")]
        if gated and len(gated) == len(report.files):
            raise KuaidiError(
                f"{repo.repo_id} is gated: the endpoint refused its files "
                f"({'no token sent' if tok is None else 'the token has no access'})",
                fix="accept the licence on the Hub, then pass --token or set HF_TOKEN",
            )
        # The ref is written under the HF revision even when ModelScope listed the files.
        result.path = str(target.finish(dataclasses.replace(listing, repo=repo), ladder.tree))
        result.files = report.files
        result.bytes_fetched = report.bytes_fetched
        result.retries = report.retries
        result.seconds = time.monotonic() - t0
        return result
    finally:
        run.close()
