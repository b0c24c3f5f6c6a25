"""``kuaidi.get.download``: deliver a Hugging Face repo (or some of its files) onto this box.

The plain-function API under ``kuaidi get``::

    from kuaidi.get import download
    result = download("Qwen/Qwen2.5-0.5B", include=["*.json", "*.safetensors"])
    assert result.ok
    print(result.path)   # .../hub/models--Qwen--Qwen2.5-0.5B/snapshots/<commit>

Defaults follow huggingface_hub (``HF_ENDPOINT``, ``HF_HUB_CACHE``/``HF_HOME``, ``HF_TOKEN``), so
the result is where ``from_pretrained`` already looks. The bytes come from the route ladder —
HF mirrors, then ModelScope, then the origin through a proxy — planned per file by
:mod:`kuaidi.sources.runplan` over the sources :mod:`kuaidi.sources.runsources` builds.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kuaidi import errors
from kuaidi.errors import (
    EntryNotFound,
    GatedRepo,
    HubAnswer,
    KuaidiError,
    PathError,
    SourceUnavailable,
    TokenRejected,
    UsageError,
)
from kuaidi.model import RepoRef, RepoType
from kuaidi.model.hfpaths import hf_hub_cache, hf_token_path
from kuaidi.repoargs import parse_repo, select_checked, select_files
from kuaidi.sources.runplan import Ladder, plan_download
from kuaidi.sources.runsources import RunSources, SourceConfig, make_scope
from kuaidi.store.hf_cache import HFCacheTarget, cached_revision
from kuaidi.store.local_dir import LocalDirTarget
from kuaidi.store.local_dir import admit as admit_local
from kuaidi.store.space import check_room, check_writable, missing_bytes
from kuaidi.store.target import Refetch, RepoTarget, discard_untouched
from kuaidi.transfer.engine import Engine
from kuaidi.transfer.job import EngineOptions, FileOutcome, Outcomes
from kuaidi.transfer.progress import Events, make_progress

__all__ = [
    "Result",
    "SourceOptions",
    "default_cache_dir",
    "default_token",
    "download",
    "engine_options",
    "hub_offline",
    "parse_repo",
    "select_files",
]


@dataclass
class Result(Outcomes):
    """What a download delivered; ``ok`` only when every file asked for is present and verified.

    A file is ``"fetched"`` (its bytes arrived and matched the listed hash), ``"present"``
    (already there with the listed size: not re-hashed; ``force_download`` fetches it again)
    or ``"failed"`` (``kind`` says why, as a :mod:`kuaidi.errors` class name). ``notes`` are
    one-line remarks for stderr (an offline fallback, a pattern that matched nothing).
    """

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
    offline: bool = False
    notes: list[str] = field(default_factory=list)
    ladder: Ladder | None = field(default=None, repr=False)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

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
            "offline": self.offline,
            "files": [asdict(f) for f in self.files],
            "bytes": self.bytes_total,
            "bytes_fetched": self.bytes_fetched,
            "retries": self.retries,
            # hash-verified this run; "present" ones were checked by size only
            "verified": self.count("fetched"),
            "present": self.count("present"),
            "failed": [{"path": f.path, "kind": f.kind, "error": f.error} for f in self.failed],
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
            # The route ladder: per file, the sources that may serve it in order and why
            # (each file's "sources" above says which ones actually did).
            "plan": self.ladder.plan_json() if self.ladder else {},
            "ladder": self.ladder.ladder_json() if self.ladder else {},
        }


# -- defaults as huggingface_hub reads them ---------------------------------------------------
def default_cache_dir(env: dict[str, str] | None = None) -> Path:
    return hf_hub_cache(dict(os.environ) if env is None else env)


def _cache_source(env: dict[str, str]) -> str:
    """How the default cache was named, for a fix that points at the right knob."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME"):
        if env.get(name):
            return f"--cache-dir (or {name})"
    return "--cache-dir (or HF_HOME)"


def default_token(env: dict[str, str] | None = None) -> str | None:
    env = dict(os.environ) if env is None else env
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if env.get(name, "").strip():
            return env[name].strip()
    path = hf_token_path(env)
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def hub_offline(env: dict[str, str] | None = None) -> bool:
    """``HF_HUB_OFFLINE`` as huggingface_hub reads it (1/ON/YES/TRUE, any case)."""
    env = dict(os.environ) if env is None else env
    return env.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


# -- the cache, offline ---------------------------------------------------------------------------
def _from_cache(
    cache: Path,
    repo: RepoRef,
    names: Sequence[str],
    include: Sequence[str],
    exclude: Sequence[str],
) -> Result | None:
    """The cached snapshot of ``repo.revision`` when every selected file is in it, else None."""
    found = cached_revision(cache, repo)
    if found is None:
        return None
    commit, files = found
    try:
        chosen = select_files(files, names, include, exclude)
    except KuaidiError:
        return None
    target = HFCacheTarget(cache, repo, commit)
    if not chosen or not all(
        target.is_present(f) and (target.snapshot / f.path).exists() for f in chosen
    ):
        return None
    result = Result(
        repo.repo_id, repo.repo_type, repo.revision, commit, str(target.snapshot), offline=True
    )
    result.files = [FileOutcome(f.path, f.size, "present") for f in chosen]
    result.bytes_total = sum(f.size for f in chosen)
    return result


@dataclass(frozen=True)
class SourceOptions:
    """Where the bytes may come from besides ``endpoint``, and how the origin is reached.

    Args:
        modelscope_endpoint: the ModelScope endpoint; ``"none"`` turns ModelScope off
            (default ``MODELSCOPE_ENDPOINT``/``MODELSCOPE_DOMAIN``, else modelscope.cn).
        origin: the origin's URL (default ``KUAIDI_ORIGIN``, else huggingface.co); used only
            through a proxy unless it was named as ``endpoint``.
        origin_hosts: more hosts (``host[:port]``) that only the proxy may reach (CDNs).
        source: force one kind of source: ``"mirror"``/``"hf-mirror"``, ``"modelscope"``,
            ``"origin"``.
        allow_modelscope_only: accept files only ModelScope lists (no HF hash to check them by
            beyond ModelScope's own).
        proxy: the proxy for the origin (``"none"`` for no proxy; default ``KUAIDI_PROXY``,
            then the shell's ``https_proxy``, then a platform's network_turbo file).
        network_turbo: a platform's network_turbo file to take the proxy (and its CA) from.

    Example::

        download("Qwen/Qwen2.5-0.5B", sources=SourceOptions(modelscope_endpoint="none"))
    """

    modelscope_endpoint: str | None = None
    origin: str | None = None
    origin_hosts: Sequence[str] = ()
    source: str | None = None
    allow_modelscope_only: bool = False
    proxy: str | None = None
    network_turbo: str | Path | None = None


def engine_options(
    *,
    connections: int = 8,
    stall_timeout: float = 20.0,
    max_retries: int = 8,
    min_speed: int | None = None,
    journal_every: int | None = None,
) -> EngineOptions:
    """The engine's options from the names ``kuaidi get``'s flags use.

    ``journal_every`` (bytes per connection between journal writes) is kept at 64 KiB or more.

    >>> engine_options(connections=16, journal_every=1).flush_bytes
    65536
    """
    if connections < 1:
        raise UsageError(f"--connections must be >= 1, got {connections}", fix="e.g. 8")
    opts = EngineOptions(
        connections=connections, stall_timeout=stall_timeout, max_retries=max_retries
    )
    if journal_every is not None:
        opts = dataclasses.replace(opts, flush_bytes=max(64 * 1024, journal_every))
    if min_speed is not None:
        opts = dataclasses.replace(opts, min_speed=min_speed)
    return opts


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
    sources: SourceOptions | None = None,
    engine: EngineOptions | None = None,
    force_download: bool = False,
    dry_run: bool = False,
    events: Events | None = None,
    client: httpx.Client | None = None,
    on_plan: Callable[[Ladder], None] | None = None,
) -> Result:
    """Download a repo (or ``files`` of it) into the HF cache or ``local_dir``.

    The first arguments are huggingface_hub's; how the bytes travel is in two config objects.

    Args:
        repo_id: ``org/name``, or ``hf://[datasets/]org/name[@rev][/path]``.
        files: repo paths (or folders) to fetch; none means the whole repo (after patterns).
        repo_type: ``"model"`` or ``"dataset"``.
        revision: a branch, tag, commit or ``refs/pr/N`` (default ``main``).
        include: glob patterns a file must match (any of them), as ``allow_patterns``.
        exclude: glob patterns that drop a file, as ``ignore_patterns``.
        cache_dir: the HF hub cache (default ``HF_HUB_CACHE``, ``HF_HOME``/hub, ~/.cache/…).
        local_dir: a plain folder instead of the cache (not with ``cache_dir``).
        endpoint: one HF mirror URL or several, in order (default ``HF_ENDPOINT``, else
            hf-mirror.com). The token goes only to mirrors named here or in ``HF_ENDPOINT``.
        token: the HF token (default ``HF_TOKEN``, then the saved login); ``False`` sends none.
        sources: ModelScope, the origin and the proxy (:class:`SourceOptions`).
        engine: connections, stall timeout, retries (:func:`engine_options` builds one).
        force_download: fetch files again even when present; replaced once verified.
        dry_run: list the plan (``FileOutcome.status == "planned"``); nothing is written.
        events: progress events (:func:`kuaidi.transfer.progress.make_progress`); quiet if None.
        client: one ``httpx.Client`` for every request (tests, custom transports).
        on_plan: called with the route ladder before any byte moves (``--explain``).

    Returns:
        A :class:`Result`: ``path`` (the snapshot or local dir), per-file outcomes, ``ok``.
        A file already present with its listed size is not fetched again; with
        ``HF_HUB_OFFLINE=1`` nothing touches the network; when no source answers, a cached
        snapshot holding every selected file is returned with a note in ``Result.notes``.

    Raises:
        UsageError, PathError, DiskFull: bad arguments, an unusable destination, no room —
            before any request.
        HubAnswer (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo, TokenRejected):
            the Hub's final answer. SourceUnavailable: no source could list the repo.
        Per-file failures do not raise: they are in ``Result.failed``.

    Example::

        fast = engine_options(connections=16)
        result = download("Qwen/Qwen2.5-0.5B", include=["*.json"], engine=fast)
        assert result.ok, result.failed
    """
    src = sources or SourceOptions()
    opts = engine or EngineOptions()
    t0 = time.monotonic()
    env = dict(os.environ)
    if repo_type not in ("model", "dataset"):
        raise UsageError(f"unknown repo type {repo_type!r}", fix="use --repo-type model|dataset")
    checked_type: RepoType = "dataset" if repo_type == "dataset" else "model"  # checked above
    if cache_dir is not None and local_dir is not None:
        raise UsageError("both --cache-dir and --local-dir given", fix="choose one of them")
    if opts.connections < 1:
        raise UsageError(f"--connections must be >= 1, got {opts.connections}", fix="e.g. 8")
    repo0, url_rev, url_path = parse_repo(repo_id, checked_type)
    assert repo0 is not None
    if revision and url_rev and revision != url_rev:
        raise UsageError(
            f"two revisions: {url_rev!r} in {repo_id!r} and --revision {revision!r}",
            fix="give the revision once",
        )
    rev = revision or url_rev or "main"
    repo = RepoRef(repo0.repo_id, repo0.repo_type, rev)
    names = [*([url_path] if url_path else []), *files]
    # Where the bytes go must be usable before any request (no traceback after the listing).
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir(env)
    dest, what = (Path(local_dir), "--local-dir") if local_dir is not None else (cache, "")
    what = what or ("--cache-dir" if cache_dir is not None else _cache_source(env))
    check_writable(dest, what)
    if hub_offline(env):
        cached = (
            None if local_dir is not None else _from_cache(cache, repo, names, include, exclude)
        )
        if cached is None:
            raise SourceUnavailable(
                f"HF_HUB_OFFLINE is set and {repo.repo_id}@{rev} is not completely in the "
                f"cache {cache}" + (" (offline mode reads only the HF cache)" if local_dir else ""),
                fix="unset HF_HUB_OFFLINE to download it",
            )
        cached.notes.append(f"offline (HF_HUB_OFFLINE): the cached snapshot {cached.commit[:12]}")
        cached.dry_run = dry_run
        cached.seconds = time.monotonic() - t0
        return cached
    config = SourceConfig.from_args(
        endpoint=endpoint,
        modelscope_endpoint=src.modelscope_endpoint,
        origin=src.origin,
        origin_hosts=src.origin_hosts,
        source=src.source,
        allow_modelscope_only=src.allow_modelscope_only,
    )
    scope = make_scope(src.proxy, src.network_turbo, config)
    tok = None if token is False else (token if isinstance(token, str) else default_token())
    run = RunSources(
        config,
        scope,
        tok,
        # The read timeout doubles as the stall watchdog: no byte for stall_timeout → requeue.
        timeout=httpx.Timeout(connect=15.0, read=opts.stall_timeout, write=30.0, pool=None),
        limits=httpx.Limits(
            max_connections=opts.connections * 2, max_keepalive_connections=opts.connections * 2
        ),
        retries=min(4, opts.max_retries),
        client=client,
    )
    try:
        try:
            ladder = plan_download(run, repo)
        except SourceUnavailable as exc:
            # As huggingface_hub: no source answered, but the cache has it → use the cache.
            cached = (
                None if local_dir is not None else _from_cache(cache, repo, names, include, exclude)
            )
            if cached is None:
                raise
            cached.notes.append(
                f"no source answered ({exc.message}); using the cached snapshot "
                f"{cached.commit[:12]} of {repo.repo_id}@{rev}"
            )
            cached.dry_run = dry_run
            cached.seconds = time.monotonic() - t0
            return cached
        listing = ladder.reference
        notes: list[str] = []
        chosen = select_checked(listing.files, names, include, exclude, notes)
        if local_dir is not None:  # repo files in .cache/huggingface/ would clobber metadata
            chosen = admit_local(chosen)
        ladder.only([f.path for f in chosen])
        commit = ladder.plan.commit
        if local_dir is not None:
            target: RepoTarget = LocalDirTarget(Path(local_dir), commit)
        else:
            target = HFCacheTarget(cache, repo, commit)
        if force_download:
            target = Refetch(target)
        result = Result(
            repo.repo_id,
            repo.repo_type,
            rev,
            commit,
            "",
            bytes_total=sum(f.size for f in chosen),
            dry_run=dry_run,
            notes=notes,
            ladder=ladder,
        )
        if on_plan is not None:
            on_plan(ladder)
        if _origin_only(ladder):
            notes.append(
                "the origin serves every file, through the proxy (slow and metered): "
                "no domestic source lists this repo"
            )
        if dry_run:
            result.files = [FileOutcome(f.path, f.size, "planned") for f in chosen]
            result.path = str(target.snapshot if isinstance(target, HFCacheTarget) else target.root)
            result.seconds = time.monotonic() - t0
            return result
        _refuse_gated(ladder, tok)
        check_room(dest, missing_bytes(target, chosen), what)
        try:
            target.prepare()
        except OSError as exc:  # e.g. read-only after the check, or a file in the way
            raise PathError(
                f"cannot write in {dest}: {exc.strerror or exc}", fix=f"point {what} elsewhere"
            ) from exc
        report = Engine(target, opts, events or make_progress("quiet")).run(ladder.jobs())
        discard_untouched(target, chosen, {f.path for f in report.failed if f.bytes_fetched == 0})
        _raise_shared_answer(report, repo, tok)
        # The ref is written under the HF revision even when ModelScope listed the files.
        result.path = str(target.finish(dataclasses.replace(listing, repo=repo), ladder.tree))
        result.files = report.files
        result.bytes_fetched = report.bytes_fetched
        result.retries = report.retries
        result.seconds = time.monotonic() - t0
        return result
    finally:
        run.close()


def _origin_only(ladder: Ladder) -> bool:
    """Every file's first rung is the origin: the run falls back to the metered proxy."""
    firsts = [fp.routes[0].kind for fp in ladder.plan.files if fp.routes]
    return bool(firsts) and all(kind == "origin" for kind in firsts)


def _refuse_gated(ladder: Ladder, token: str | None) -> None:
    """GatedRepo before any file request when the Hub said "gated", no token is at hand, and
    no ModelScope rung could serve a file instead: every file would be refused alike."""
    if not getattr(ladder.reference, "gated", False) or token is not None:
        return
    if any(r.kind == "modelscope" for fp in ladder.plan.files for r in fp.routes):
        return
    raise GatedRepo(
        f"{ladder.plan.repo.repo_id} is gated and no token is set",
        fix="accept the licence on the Hub, then set HF_TOKEN (or `hf auth login`, --token)",
    )


def _raise_shared_answer(report: Outcomes, repo: RepoRef, token: str | None) -> None:
    """One error, once, when every failed file failed for the same repo-wide answer (gated,
    token rejected) and nothing was delivered: not the server's message per file."""
    kinds = {f.kind for f in report.failed}
    if not report.failed or any(f.status == "fetched" for f in report.files) or len(kinds) != 1:
        return
    cls = getattr(errors, next(iter(kinds)) or "", None)
    if cls is GatedRepo:
        raise GatedRepo(
            f"{repo.repo_id} is gated: the endpoint refused its files "
            f"({'no token sent' if token is None else 'the token has no access'})",
            fix="accept the licence on the Hub, then pass --token or set HF_TOKEN"
            + ("" if token is None else "; the token goes only to a mirror you name (--endpoint)"),
        )
    first = report.failed[0]
    if cls is TokenRejected:
        raise TokenRejected(
            f"token rejected while fetching the files of {repo.repo_id} ({first.error})",
            fix="check HF_TOKEN / --token, or log in again with `hf auth login`",
        )
    if isinstance(cls, type) and issubclass(cls, HubAnswer) and cls is not EntryNotFound:
        raise cls(f"{repo.repo_id}: {first.error}")
