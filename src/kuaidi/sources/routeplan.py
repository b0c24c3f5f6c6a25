"""The route ladder: for each file, which sources may serve it, in which order, and why.

Pure logic over listings — no requests. Inputs are the *reference* listing (what the user asked
for, from an HF-protocol source: it fixes the expected size and hash of every file) and the
candidate listings (other HF mirrors, ModelScope under each mapped id, the origin). Output is a
:class:`RoutePlan` the engine turns into ``Route`` lists, and ``kuaidi get --explain`` prints.

Order: HF mirrors first (domestic, same protocol), ModelScope next (domestic, different ids),
the origin last (through the proxy: slow, metered). Within a kind, the caller's order.

**When a candidate may serve a file** (file-level, with a repo-level guard):

- sha256 equal (LFS files; ModelScope lists one for every file) → yes;
- git blob id equal (small files: HF lists only the git sha1; ModelScope's ``Id``) → yes;
- sizes equal but no hash in common ("weak") → only if the candidate repo agrees with the
  reference on every file it can compare and strongly matches at least one; the engine verifies
  the bytes against the *reference's* hash anyway, so a wrong weak match costs a retry on the
  next route, never a wrong file;
- a hash or size differs → never. A mapped ModelScope repo whose weights differ (another
  quantization, a fine-tune, a wrong mapping) therefore serves only the files that are
  byte-identical — typically none of the weights — and its weak matches are dropped.

If no HF-protocol source could list the repo there are no reference hashes: ModelScope is then
used only with ``allow_modelscope_only=True`` (verified against ModelScope's own sha256).

For example::

    plan = plan_routes(hf_listing, [ms_listing, origin_listing])
    print(plan.explain())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from kuaidi.model import Listing, RemoteFile, RepoRef, Route, RouteKind, Source

# "unlisted": a rung that was never listed (the origin behind a mirror that listed the repo);
# its bytes are checked against the reference's hashes like every other route's.
Match = Literal["reference", "sha256", "git-sha1", "size", "conflict", "absent", "unlisted"]
KIND_ORDER: dict[str, int] = {"mirror": 0, "modelscope": 1, "origin": 2}
STRONG: tuple[str, ...] = ("reference", "sha256", "git-sha1")
PlanMode = Literal["hf", "modelscope-only", "blocked"]


def source_kind(listing: Listing, kinds: Mapping[str, RouteKind] | None = None) -> RouteKind:
    """A listing's kind: ``kinds[listing.source]``, else guessed from the source name."""
    if kinds and listing.source in kinds:
        return kinds[listing.source]
    name = listing.source.lower()
    if "modelscope" in name or name.startswith("ms"):
        return "modelscope"
    if name.startswith("origin") or name in ("huggingface.co", "hub"):
        return "origin"
    return "mirror"


def compare(expected: RemoteFile, have: RemoteFile | None) -> tuple[Match, str]:
    """How ``have`` (a candidate's file) relates to ``expected`` (the reference's)."""
    if have is None:
        return "absent", "not listed"
    if have.size != expected.size:
        return "conflict", f"size {have.size} ≠ {expected.size}"
    if expected.sha256 and have.sha256:
        if expected.sha256 == have.sha256:
            return "sha256", "sha256 matches"
        return "conflict", "sha256 differs"
    if expected.git_sha1 and have.git_sha1:
        if expected.git_sha1 == have.git_sha1:
            return "git-sha1", "git blob id matches"
        return "conflict", "git blob id differs"
    return "size", "same size, no hash in common (verified after download)"


@dataclass(frozen=True)
class RouteChoice:
    """One rung for one file: where to fetch it (``source`` + repo id + commit + path)."""

    source: str
    kind: RouteKind
    repo: RepoRef
    commit: str
    path: str
    match: Match
    reason: str


@dataclass(frozen=True)
class FilePlan:
    """A file, the hashes its bytes must have, and its routes in order."""

    expected: RemoteFile
    routes: tuple[RouteChoice, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (source, why not)

    @property
    def path(self) -> str:
        return self.expected.path


@dataclass(frozen=True)
class SourceVerdict:
    """What the planner concluded about one candidate listing as a whole."""

    source: str
    kind: RouteKind
    repo: RepoRef
    commit: str
    counts: dict[str, int]
    weak_allowed: bool
    summary: str


@dataclass(frozen=True)
class RoutePlan:
    """Routes for every file of the reference listing (see the module docstring)."""

    repo: RepoRef
    commit: str
    reference: str
    mode: PlanMode
    files: tuple[FilePlan, ...] = ()
    verdicts: tuple[SourceVerdict, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def file(self, path: str) -> FilePlan:
        for plan in self.files:
            if plan.path == path:
                return plan
        raise KeyError(path)

    def sources_for(self, path: str) -> list[str]:
        """Source names for ``path``, in order."""
        return [r.source for r in self.file(path).routes]

    def explain(self) -> str:
        """A human-readable account of every decision (``kuaidi get --explain``)."""
        head = f"{self.repo.repo_type} {self.repo.repo_id}"
        if self.mode == "blocked":
            return "\n".join([f"{head}: no plan", *(f"  {n}" for n in self.notes)])
        lines = [f"{head} @ {self.commit[:12]} — hashes from {self.reference} ({self.mode})"]
        lines += [f"  {n}" for n in self.notes]
        for v in self.verdicts:
            lines.append(f"  {v.source} [{v.kind}] {v.repo.repo_id}@{v.commit[:12]}: {v.summary}")
        width = max((len(f.path) for f in self.files), default=0)
        lines.append("  files — each with its routes in the order they are tried:")
        for f in self.files:
            # An unlisted rung's full reason is one note above, not repeated on every file.
            ladder = " → ".join(
                f"{r.source} ({'last resort, not listed' if r.match == 'unlisted' else r.reason})"
                for r in f.routes
            )
            ladder = ladder or "NO ROUTE"
            lines.append(f"  {f.path:<{width}}  {f.expected.size:>12,d} B  {ladder}")
            lines += [f"  {'':<{width}}  {'':>14}  not {s}: {why}" for s, why in f.skipped]
        return "\n".join(lines)


def plan_routes(
    hf_listing: Listing | None,
    candidates: Iterable[Listing],
    *,
    allow_modelscope_only: bool = False,
    kinds: Mapping[str, RouteKind] | None = None,
) -> RoutePlan:
    """Plan the routes of every file of ``hf_listing`` over ``candidates`` (see module doc).

    ``hf_listing`` None: the first HF-protocol candidate (mirror, then origin) becomes the
    reference; with none, ModelScope only if ``allow_modelscope_only``, else a blocked plan.
    """
    pool = [c for c in candidates if c is not hf_listing]
    notes: list[str] = []
    mode: PlanMode
    reference, mode = hf_listing, "hf"
    if reference is None:
        hf_kind = sorted(
            (c for c in pool if source_kind(c, kinds) != "modelscope"),
            key=lambda c: KIND_ORDER[source_kind(c, kinds)],
        )
        ms_kind = [c for c in pool if source_kind(c, kinds) == "modelscope"]
        if hf_kind:
            reference = hf_kind[0]
            notes.append(f"the Hub hashes come from {reference.source}")
        elif ms_kind and allow_modelscope_only:
            reference, mode = ms_kind[0], "modelscope-only"
            notes.append(
                "no HF-protocol source listed the repo: ModelScope only (opted in), verified "
                "against ModelScope's own sha256"
            )
        else:
            why = "no HF-protocol source (mirror or origin) could list the repo"
            if ms_kind:
                why += "; ModelScope has it but is not used without --allow-modelscope-only"
            repo = ms_kind[0].repo if ms_kind else RepoRef("?")
            return RoutePlan(repo=repo, commit="", reference="", mode="blocked", notes=(why,))
    assert reference is not None
    sources = _ordered([reference, *pool], kinds)
    by_path = [{f.path: f for f in s.files} for s in sources]
    verdicts: list[SourceVerdict] = []
    weak_ok: dict[int, bool] = {}
    for i, listing in enumerate(sources):
        if listing is reference:
            continue
        verdict = _verdict(reference, listing, by_path[i], kinds)
        weak_ok[i] = verdict.weak_allowed
        verdicts.append(verdict)
    files: list[FilePlan] = []
    for expected in reference.files:
        routes: list[RouteChoice] = []
        skipped: list[tuple[str, str]] = []
        for i, listing in enumerate(sources):
            kind = source_kind(listing, kinds)
            match: Match
            if listing is reference:
                match, why = "reference", "listed it"
            else:
                match, why = compare(expected, by_path[i].get(expected.path))
                if match == "size" and not weak_ok[i]:
                    skipped.append((listing.source, f"{why}, but the repo does not agree"))
                    continue
                if match in ("conflict", "absent"):
                    skipped.append((listing.source, why))
                    continue
            routes.append(
                RouteChoice(
                    listing.source, kind, listing.repo, listing.commit, expected.path, match, why
                )
            )
        files.append(FilePlan(expected, tuple(routes), tuple(skipped)))
    return RoutePlan(
        repo=reference.repo,
        commit=reference.commit,
        reference=reference.source,
        mode=mode,
        files=tuple(files),
        verdicts=tuple(verdicts),
        notes=tuple(notes),
    )


def _ordered(listings: list[Listing], kinds: Mapping[str, RouteKind] | None) -> list[Listing]:
    seen: set[tuple[str, str, str]] = set()
    unique: list[Listing] = []
    for listing in listings:
        key = (listing.source, listing.repo.repo_id, listing.commit)
        if key not in seen:
            seen.add(key)
            unique.append(listing)
    return sorted(unique, key=lambda s: KIND_ORDER[source_kind(s, kinds)])  # stable


def _verdict(
    reference: Listing,
    listing: Listing,
    files: dict[str, RemoteFile],
    kinds: Mapping[str, RouteKind] | None,
) -> SourceVerdict:
    counts: dict[str, int] = {"sha256": 0, "git-sha1": 0, "size": 0, "conflict": 0, "absent": 0}
    conflicts: list[str] = []
    for expected in reference.files:
        match, _ = compare(expected, files.get(expected.path))
        counts[match] += 1
        if match == "conflict":
            conflicts.append(expected.path)
    strong = counts["sha256"] + counts["git-sha1"]
    weak_allowed = counts["conflict"] == 0 and strong > 0
    total = len(reference.files)
    parts = [f"{strong}/{total} files match by hash"]
    if counts["size"]:
        parts.append(f"{counts['size']} by size only ({'used' if weak_allowed else 'not used'})")
    if counts["absent"]:
        parts.append(f"{counts['absent']} not listed")
    if conflicts:
        shown = ", ".join(conflicts[:3]) + (" …" if len(conflicts) > 3 else "")
        parts.append(f"{len(conflicts)} differ ({shown}): a different revision or variant")
    kind = source_kind(listing, kinds)
    if kind != "modelscope" and listing.commit != reference.commit:
        parts.append(f"at commit {listing.commit[:12]}, not {reference.commit[:12]} (stale?)")
    if strong == 0:
        parts.append("not used")
    return SourceVerdict(
        source=listing.source,
        kind=kind,
        repo=listing.repo,
        commit=listing.commit,
        counts=counts,
        weak_allowed=weak_allowed,
        summary="; ".join(parts),
    )


def to_routes(file_plan: FilePlan, sources: Mapping[str, Source]) -> list[Route]:
    """Transfer ``Route`` objects for one file, built by each named source object.

    ``sources`` maps a source name to the :class:`~kuaidi.model.Source` that listed it
    (``HFSource``, ``ModelScopeSource``, ``OriginSource``).
    """
    routes: list[Route] = []
    for choice in file_plan.routes:
        source = sources.get(choice.source)
        if source is None:
            continue
        route = source.route(choice.repo, choice.commit, choice.path)
        # Only a route whose listing carries the reference's hash may share one file with
        # another (multi-source segments); a size-only or unlisted rung serves it alone.
        route.strong = choice.match in STRONG
        routes.append(route)
    return routes


def with_last_resort(plan: RoutePlan, source: str, kind: RouteKind, *, via: str) -> RoutePlan:
    """``plan`` with an unlisted rung (the origin) appended to every file.

    The origin is not listed when a mirror listed the repo: a listing through a slow, metered
    proxy buys nothing, because whatever route serves a file its bytes are verified against
    the reference's hashes. ``via`` says how it is reached (the proxy, shown redacted).
    """
    reason = f"not listed; last resort through {via}, verified against {plan.reference}"
    files = tuple(
        FilePlan(
            f.expected,
            (
                *f.routes,
                RouteChoice(source, kind, plan.repo, plan.commit, f.path, "unlisted", reason),
            ),
            f.skipped,
        )
        for f in plan.files
    )
    return replace(plan, files=files, notes=(*plan.notes, f"{source}: {reason}"))


def restrict(plan: RoutePlan, kind: RouteKind, *, why: str) -> RoutePlan:
    """``plan`` with only ``kind``'s rungs (``--source``); the others become skipped with ``why``.

    A file may be left without routes (e.g. ``--source modelscope`` for a file ModelScope has
    with other bytes): the caller decides what to say.
    """
    files = []
    for f in plan.files:
        keep = tuple(r for r in f.routes if r.kind == kind)
        dropped = tuple((r.source, why) for r in f.routes if r.kind != kind)
        files.append(FilePlan(f.expected, keep, (*f.skipped, *dropped)))
    return replace(plan, files=tuple(files), notes=(*plan.notes, f"{why}: only {kind} routes"))
