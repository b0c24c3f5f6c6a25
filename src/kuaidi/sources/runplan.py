"""List a run's sources in parallel and plan every file's routes: the ladder of one download.

:func:`plan_download` (called by :func:`kuaidi.get.download` with the
:class:`~kuaidi.sources.runsources.RunSources` of the run):

- every mirror and every ModelScope candidate id (:func:`kuaidi.sources.idmap.candidates`) is
  listed at once, each failure kept as a plan note;
- the first mirror that lists the repo is the reference: its hashes are what every byte is
  verified against, whatever route serves it;
- the origin is *not* listed when a mirror listed the repo: a listing through a slow, metered
  proxy would buy nothing, so it is appended to every file as an unlisted last rung. When no
  mirror lists the repo, the origin is listed (through the proxy) and becomes the reference;
  failing that, ModelScope alone — only when the user opted in (``--allow-modelscope-only``);
- ``--source`` keeps one kind of rung; a file that kind cannot serve is an error up front.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from kuaidi.errors import (
    GatedRepo,
    HubAnswer,
    KuaidiError,
    RepoNotFound,
    SourceUnavailable,
    TokenRejected,
    UsageError,
)
from kuaidi.model import FileJob, Listing, RepoRef, RouteKind, Source
from kuaidi.net.urls import redact
from kuaidi.sources.hf import COMMIT_RE
from kuaidi.sources.idmap import candidates
from kuaidi.sources.modelscope import ModelScopeSource, ms_revision
from kuaidi.sources.routeplan import (
    RoutePlan,
    plan_routes,
    restrict,
    to_routes,
    with_last_resort,
)
from kuaidi.sources.runsources import PROXY_FIX, RunSources, SourceLine


@dataclass
class Ladder:
    """The plan of a run and the source objects that build its routes."""

    plan: RoutePlan
    reference: Listing
    sources: dict[str, Source]
    lines: list[SourceLine] = field(default_factory=list)

    @property
    def tree(self) -> dict[str, dict[str, Any]] | None:
        return getattr(self.reference, "tree", None)

    def only(self, paths: Sequence[str]) -> None:
        """Keep only the files the user selected (``--include``/``--exclude``/names)."""
        wanted = set(paths)
        files = tuple(f for f in self.plan.files if f.path in wanted)
        self.plan = replace(self.plan, files=files)

    def jobs(self) -> list[FileJob]:
        return [FileJob(fp.expected, to_routes(fp, self.sources)) for fp in self.plan.files]

    def explain(self) -> str:
        return "\n".join([self.plan.explain(), "sources:", *(ln.text() for ln in self.lines)])

    def plan_json(self) -> dict[str, list[dict[str, str]]]:
        return {
            fp.path: [
                {
                    "source": r.source,
                    "kind": r.kind,
                    "repo_id": r.repo.repo_id,
                    "match": r.match,
                    "reason": r.reason,
                }
                for r in fp.routes
            ]
            for fp in self.plan.files
        }

    def ladder_json(self) -> dict[str, Any]:
        return {
            "reference": self.plan.reference,
            "mode": self.plan.mode,
            "notes": list(self.plan.notes),
            "sources": [
                {"name": ln.name, "kind": ln.kind, "url": ln.url, "route": ln.route}
                for ln in self.lines
            ],
        }


def _ms_revisions(revision: str) -> list[str]:
    """ModelScope revisions to list for an HF revision: an HF commit means nothing there, so
    ``master`` (compared by hash); a branch or tag by its name first, then ``master``."""
    if revision == "main" or COMMIT_RE.match(revision):
        return ["master"]
    return [revision, "master"]


def _list_ms(ms: ModelScopeSource, ms_id: str, repo: RepoRef) -> Listing:
    last: KuaidiError | None = None
    for rev in _ms_revisions(repo.revision):
        try:
            return ms.list(RepoRef(ms_id, repo.repo_type, rev))
        except KuaidiError as exc:
            last = exc
    assert last is not None
    raise last


SourceReply = tuple[str, Listing | KuaidiError]  # (source name or ModelScope id, what it gave)


GRACE = 2.0  # seconds ModelScope may answer after the mirrors did, before the run goes on


def _gather(
    tasks: list[tuple[str, Callable[[], Listing]]], *, required: int, grace: float = GRACE
) -> list[SourceReply | None]:
    """Run every listing at once; each result is the listing or the error it raised.

    The first ``required`` tasks (the mirrors) are waited for; the others (ModelScope) only
    ``grace`` seconds longer once a mirror has listed the repo — a ModelScope that hangs must
    not hold up a download the mirror can serve. A late one is ``None``; its daemon thread is
    left to finish on its own (a pool's threads would be joined at exit).
    """
    results: list[SourceReply | None] = [None] * len(tasks)
    done = [threading.Event() for _ in tasks]

    def run(i: int, key: str, fn: Callable[[], Listing]) -> None:
        try:
            results[i] = (key, fn())
        except KuaidiError as exc:
            results[i] = (key, exc)
        except httpx.HTTPError as exc:  # e.g. a proxy refusing: a note, not a crash
            results[i] = (key, SourceUnavailable(f"{type(exc).__name__}: {exc}"))
        except Exception as exc:  # a bug in one source must not hang the others' wait
            results[i] = (key, SourceUnavailable(f"{type(exc).__name__}: {exc}"))
        finally:
            done[i].set()

    for i, (key, fn) in enumerate(tasks):
        name = f"kuaidi-list-{i}"
        threading.Thread(target=run, args=(i, key, fn), name=name, daemon=True).start()
    for event in done[:required]:
        event.wait()
    listed = any(isinstance(r, tuple) and isinstance(r[1], Listing) for r in results[:required])
    deadline = time.monotonic() + grace if listed else None
    for event in done[required:]:
        event.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return list(results)


@dataclass
class _Listed:
    """What the parallel listing produced, split by kind."""

    mirrors: list[Listing] = field(default_factory=list)
    mirror_errors: list[tuple[str, KuaidiError]] = field(default_factory=list)
    ms: list[Listing] = field(default_factory=list)
    ms_errors: list[tuple[str, KuaidiError]] = field(default_factory=list)
    origin_error: KuaidiError | None = None


def _list_domestic(run: RunSources, repo: RepoRef, notes: list[str]) -> _Listed:
    force = run.config.force
    mirror_tasks: list[tuple[str, Callable[[], Listing]]] = []
    if force in (None, "mirror", "modelscope"):
        mirror_tasks = [(m.name, functools.partial(m.list, repo)) for m in run.mirrors]
    ms_ids: list[str] = []
    ms_tasks: list[tuple[str, Callable[[], Listing]]] = []
    ms = run.modelscope
    if ms is None and force == "modelscope":
        notes.append("ModelScope is turned off (--modelscope-endpoint none)")
    if ms is not None and force in (None, "modelscope"):
        try:
            ms_ids = candidates(repo.repo_id)
        except KuaidiError as exc:  # a broken user idmap must not stop the mirror's download
            notes.append(f"modelscope not used: {exc.one_line()}")
        else:
            if not ms_ids:
                notes.append(f"modelscope not used: the idmap says never for {repo.repo_id}")
            ms_tasks = [(i, functools.partial(_list_ms, ms, i, repo)) for i in ms_ids]
    # ModelScope is optional unless forced: then it is the whole point of the run.
    required = len(mirror_tasks) if force is None else len(mirror_tasks) + len(ms_tasks)
    results = _gather([*mirror_tasks, *ms_tasks], required=required)
    listed = _Listed()
    for n, result in enumerate(results):
        is_ms = n >= len(mirror_tasks)
        if result is None:
            notes.append(f"modelscope not used: no answer within {GRACE:g} s of the mirror's")
            continue
        key, got = result
        if isinstance(got, Listing):
            (listed.ms if is_ms else listed.mirrors).append(got)
        else:
            (listed.ms_errors if is_ms else listed.mirror_errors).append((key, got))
    notes += [f"{name} not used: {err.message}" for name, err in listed.mirror_errors]
    if ms_ids and not listed.ms and listed.ms_errors:
        notes.append(
            f"modelscope has none of {', '.join(ms_ids)} ({listed.ms_errors[0][1].message})"
        )
    return listed


def plan_download(run: RunSources, repo: RepoRef) -> Ladder:
    """List what ``run`` may use for ``repo`` and plan every file's routes (module docstring).

    Raises KuaidiError (the clearest source's message) when nothing usable lists the repo.
    """
    force = run.config.force
    notes: list[str] = []
    listed = _list_domestic(run, repo, notes)
    kinds: dict[str, RouteKind] = {m.name: "mirror" for m in run.mirrors}
    kinds.update({"modelscope": "modelscope", run.origin.name: "origin"})
    via = redact(run.scope.proxy_for(run.origin.endpoint)) or "a direct connection (forced)"
    if not run.origin_usable and force is None:
        notes.append(
            f"origin {run.origin.endpoint} not used: {run.origin_unused()}; to use it, {PROXY_FIX}"
        )
    if force == "modelscope" and not listed.ms:  # say why ModelScope has nothing, up front
        raise _no_plan_error(run, repo, listed, notes)
    plan: RoutePlan | None = None
    reference: Listing | None = None
    if listed.mirrors:
        reference = listed.mirrors[0]
        plan = plan_routes(reference, [*listed.mirrors[1:], *listed.ms], kinds=kinds)
        if run.origin_usable and force is None:
            plan = with_last_resort(plan, run.origin.name, "origin", via=via)
    elif run.origin_usable and force in (None, "origin"):
        try:
            reference = run.origin.list(repo)
            plan = plan_routes(reference, listed.ms, kinds=kinds)
            notes.append(f"no mirror listed it; the origin did (through {via})")
        except KuaidiError as exc:
            listed.origin_error = exc
            notes.append(f"origin not used: {exc.message}")
    # ModelScope alone only for a revision ModelScope itself resolved ("master" listed for
    # comparison is not the "v2" the user asked for), and never past a mirror's definite
    # answer about the revision or the access: a typo'd --revision must not become master.
    ms_own = [m for m in listed.ms if m.repo.revision == ms_revision(repo.revision)]
    if plan is None and ms_own and run.config.allow_modelscope_only and not _answer(listed):
        plan = plan_routes(None, ms_own, allow_modelscope_only=True, kinds=kinds)
        reference = next(m for m in ms_own if m.source == plan.reference)
    if plan is None or reference is None:
        raise _no_plan_error(run, repo, listed, notes)
    if force is not None:
        plan = restrict(plan, force, why=f"--source {force}")
        missing = [f.path for f in plan.files if not f.routes]
        if missing:
            shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
            raise UsageError(
                f"--source {force} cannot serve {len(missing)} file(s) with the expected "
                f"hashes: {shown}",
                fix="drop --source, or leave those files out with --exclude",
            )
    plan = replace(plan, notes=(*notes, *plan.notes))
    return Ladder(plan, reference, run.by_name(), run.lines())


def _answer(listed: _Listed) -> HubAnswer | None:
    """A source's definite answer that no other source may override: the revision does not
    exist, the repo is gated, the token is rejected. (A mirror's "no such repo" is not one:
    a mirror may lack a repo ModelScope or the origin has.)"""
    answers = [err for _, err in listed.mirror_errors]
    if listed.origin_error is not None:
        answers.insert(0, listed.origin_error)  # the origin's word beats a mirror's
    for err in answers:
        if isinstance(err, HubAnswer) and not isinstance(err, RepoNotFound):
            return err
    return None


def _no_plan_error(
    run: RunSources, repo: RepoRef, listed: _Listed, notes: list[str]
) -> KuaidiError:
    """The one-line error when nothing can serve ``repo``, of the errors.py kind it is: a
    source's definite answer (HubAnswer) as itself and first — the origin's before a mirror's —
    else SourceUnavailable; what else could be done goes in the fix."""
    force = run.config.force
    origin_error = listed.origin_error
    answer = _answer(listed)
    base: KuaidiError | None = None
    if answer is not None:
        base = answer
    elif force == "modelscope" and listed.ms_errors:
        base = listed.ms_errors[0][1]
    elif origin_error is not None and (
        isinstance(origin_error, HubAnswer) or not listed.mirror_errors
    ):
        base = origin_error
    elif listed.mirror_errors:
        base = next(
            (e for _, e in listed.mirror_errors if isinstance(e, HubAnswer)),
            listed.mirror_errors[0][1],
        )
    hints: list[str] = []
    ms_own = [m for m in listed.ms if m.repo.revision == ms_revision(repo.revision)]
    if ms_own and force is None and answer is None:
        hints.append(
            f"ModelScope has it as {ms_own[0].repo.repo_id}: --allow-modelscope-only "
            "downloads it verified against ModelScope's own sha256"
        )
    if (
        not run.origin_usable
        and force is None
        and not isinstance(answer, (GatedRepo, TokenRejected))
    ):
        hints.append(f"to try the origin, {PROXY_FIX}")
    if base is None:
        why = "; ".join(notes) or "no source is configured"
        return SourceUnavailable(
            f"no source can list {repo.repo_id}: {why}", fix="; ".join(hints) or None
        )
    fix = "; ".join([*([base.fix] if base.fix else []), *hints]) or None
    cls: type[KuaidiError] = type(base)
    if cls is KuaidiError and base.exit_code == 1:  # a source's untyped "could not answer"
        cls = SourceUnavailable
    return cls(base.message, fix=fix, exit_code=base.exit_code)
