"""The :class:`~kuaidi.serve.hooks.Hub` both protocol fronts use: listings and blob readers.

Listings come from the upstream ladder, cached: a commit's for good, a branch's for
``branch_ttl`` seconds — and past that, while upstream is down, served stale with a log line
(then from the store's refs and tree cache). ``--offline`` answers from the store only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kuaidi.errors import EntryNotFound, GatedRepo, HubAnswer, KuaidiError, SourceUnavailable
from kuaidi.model import Listing, RemoteFile, RepoRef, safe_relpath
from kuaidi.serve.config import ServeConfig
from kuaidi.serve.fill import BlobFile, Fill, FillReader
from kuaidi.serve.hooks import BlobReader, Budget, Gate, NullBudget, NullStats, Stats
from kuaidi.serve.protocol import TreeCache
from kuaidi.serve.store import ServeStore
from kuaidi.serve.upstream import Upstream
from kuaidi.sources.runplan import Ladder

log = logging.getLogger("kuaidi.serve")

COMMIT = re.compile(r"^[0-9a-f]{40}$")
T = TypeVar("T")
GATED_MARK = ".kuaidi-gated"  # in a repo's folder: gated upstream (so offline stays closed)


@dataclass
class _Known:
    listing: Listing
    ladder: Ladder | None
    gated: bool
    at: float


class ServeHub:
    """Listings and readers over one store and one upstream; one fill per blob."""

    def __init__(
        self,
        config: ServeConfig,
        *,
        stats: Stats | None = None,
        budget: Budget | None = None,
        gate: Gate | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        self.config = config
        self.store = ServeStore(config.cache_dir)
        self.upstream = upstream or Upstream(config)
        self.stats: Stats = stats or NullStats()
        self.budget: Budget = budget or NullBudget()
        self.gate = gate
        self._known: dict[tuple[str, str, str], _Known] = {}
        self._fills: dict[tuple[Path, str], Fill] = {}
        self._pool = ThreadPoolExecutor(16, thread_name_prefix="kuaidi-list")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.upstream.close()

    def tree(self, listing: Listing) -> TreeCache | None:
        known = self._known.get(_key(listing.repo, listing.commit))
        return known.ladder.tree if known and known.ladder else None

    def gated(self, listing: Listing) -> bool:
        known = self._known.get(_key(listing.repo, listing.commit))
        return bool(known and known.gated)

    # -- listings ---------------------------------------------------------------------------
    async def snapshot(self, repo: RepoRef, token: str | None) -> Listing:
        safe_relpath(repo.repo_id)
        safe_relpath(repo.revision)
        key = _key(repo, repo.revision)
        known = self._known.get(key)
        fixed = bool(COMMIT.match(repo.revision))
        if known and (fixed or time.monotonic() - known.at < self.config.branch_ttl):
            await self._admit(repo, token, known.gated)
            return known.listing
        if self.config.offline:
            return await self._from_store(repo, token, "offline")
        try:
            ladder = await self._in_thread(self.upstream.plan, repo, self.config.token)
        except HubAnswer:
            raise
        except KuaidiError as exc:
            if known is not None:
                log.warning(
                    "upstream down (%s): serving %s@%s as cached %ss ago",
                    exc.message, repo.repo_id, repo.revision, int(time.monotonic() - known.at),
                )  # fmt: skip
                known.at = (
                    time.monotonic() - self.config.branch_ttl + min(5.0, self.config.branch_ttl)
                )
                await self._admit(repo, token, known.gated)
                return known.listing
            try:
                return await self._from_store(repo, token, f"upstream down ({exc.message})")
            except SourceUnavailable:
                raise exc from None
        listing = Listing(
            repo, ladder.plan.commit, list(ladder.reference.files), ladder.reference.source
        )
        gated = bool(getattr(ladder.reference, "gated", False))
        await self._in_thread(self._record, listing, ladder.tree, gated)
        entry = _Known(listing, ladder, gated, time.monotonic())
        self._known[key] = entry
        self._known[_key(repo, listing.commit)] = entry
        await self._admit(repo, token, gated)
        return listing

    def _record(self, listing: Listing, tree: TreeCache | None, gated: bool) -> None:
        self.store.record(listing, tree)
        mark = self.store.repo_dir(listing.repo) / GATED_MARK
        if gated:
            mark.touch()
        elif mark.exists():
            mark.unlink()

    async def _from_store(self, repo: RepoRef, token: str | None, why: str) -> Listing:
        listing = self.store.cached(repo)
        if listing is None:
            raise SourceUnavailable(
                f"{repo.repo_id}@{repo.revision} is not in this server's cache and {why}",
                fix="try again when the server's upstream is reachable",
            )
        log.warning("%s: serving %s@%s from the cache", why, repo.repo_id, repo.revision)
        gated = (self.store.repo_dir(repo) / GATED_MARK).exists()
        await self._admit(repo, token, gated)
        entry = _Known(listing, None, gated, time.monotonic())
        self._known.setdefault(_key(repo, listing.commit), entry)
        return listing

    async def _admit(self, repo: RepoRef, token: str | None, gated: bool) -> None:
        if self.gate is not None:
            # Every repo, not only those listed as gated: a private repo the server's own token
            # can list must not reach anonymous clients. Public ones cost one cached check.
            ok = await self.gate.admit(repo, token)
        else:  # nobody to check a client's token with (--offline, no --endpoint named)
            ok = not gated or self.config.share_gated
        if not ok:
            raise GatedRepo(
                f"Access to {repo.repo_id} is restricted: "
                + ("log in" if token is None else "your token is not granted access"),
                fix="accept the licence on the Hub, then set HF_TOKEN",
            )

    def _fill_token(self, gated: bool, token: str | None) -> str | None:
        return self.config.token if (not gated or self.config.share_gated) else token

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # -- blobs ------------------------------------------------------------------------------
    def find(self, listing: Listing, path: str) -> RemoteFile:
        for f in listing.files:
            if f.path == path:
                return f
        raise EntryNotFound(f"{path} does not exist on {listing.repo.revision!r}")

    async def open(self, listing: Listing, path: str, token: str | None) -> BlobReader:
        f = self.find(listing, path)
        repo = listing.repo
        self.budget.touched(self.store.repo_dir(repo))
        blob = self.store.complete(repo, f)
        if blob is not None:
            with contextlib.suppress(OSError, KuaidiError):
                self.store.target(repo, listing.commit).link(f)
            return BlobFile(blob, f.size)
        key = (self.store.repo_dir(repo), f.etag)
        fill = self._fills.get(key)
        if fill is None or fill.state != "running":
            if self.config.offline:
                raise SourceUnavailable(f"{path} is not in this server's cache (--offline)")
            known = self._known.get(_key(repo, listing.commit))
            ladder = known.ladder if known else None
            gated = bool(known and known.gated)
            if ladder is None:  # listed from the store: plan the commit now
                ladder = await self._in_thread(
                    self.upstream.plan, RepoRef(repo.repo_id, repo.repo_type, listing.commit),
                    self.config.token,
                )  # fmt: skip
                if known:
                    known.ladder = ladder
            job = self.upstream.job(ladder, path, self._fill_token(gated, token))
            target = self.store.target(repo, listing.commit)
            target.prepare()
            observer = self.stats.fill_started(repo.repo_id, path, f.size)
            fill = Fill(f, job, target, self.upstream.engine, observer, self.budget, self._ended)
            self._fills[key] = fill
            fill.start()
        return FillReader(fill)

    def _ended(self, fill: Fill) -> None:
        for key, value in list(self._fills.items()):
            if value is fill:
                del self._fills[key]


def _key(repo: RepoRef, revision: str) -> tuple[str, str, str]:
    return (repo.repo_type, repo.repo_id, revision)
