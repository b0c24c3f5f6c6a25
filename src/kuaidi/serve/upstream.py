"""The server's upstream: kuaidi's own route ladder (mirrors, ModelScope, the origin by proxy).

One :class:`RunSources` per token the upstream is asked with (the server's own, or a LAN client's
for a gated repo), kept for the server's life so connections are reused. Planning is blocking
(it lists every source in parallel): the hub runs it in a worker thread.
"""

from __future__ import annotations

import hashlib
import threading

import httpx

from kuaidi.get import engine_options
from kuaidi.model import FileJob, RepoRef
from kuaidi.serve.config import ServeConfig
from kuaidi.sources.routeplan import to_routes
from kuaidi.sources.runplan import Ladder, plan_download
from kuaidi.sources.runsources import RunSources, SourceConfig, make_scope
from kuaidi.transfer.job import EngineOptions

MAX_TOKENS = 64  # distinct client tokens with a live set of upstream clients


class Upstream:
    """Plans repos and builds each file's job over the configured ladder."""

    def __init__(self, config: ServeConfig) -> None:
        src = config.sources
        self.config = config
        self.source_config = SourceConfig.from_args(
            endpoint=list(config.endpoints) or None,
            modelscope_endpoint=src.modelscope_endpoint,
            origin=src.origin,
            origin_hosts=src.origin_hosts,
            source=src.source,
            allow_modelscope_only=src.allow_modelscope_only,
        )
        self.scope = make_scope(src.proxy, src.network_turbo, self.source_config)
        self.engine: EngineOptions = engine_options(
            connections=config.connections,
            stall_timeout=config.stall_timeout,
            # Readers follow the fill by its journal: record progress often, so the first
            # bytes leave soon after they land.
            journal_every=config.journal_every or 256 * 1024,
        )
        self._runs: dict[str, RunSources] = {}
        self._lock = threading.Lock()

    def _run(self, token: str | None) -> RunSources:
        key = hashlib.sha256(token.encode()).hexdigest() if token else ""
        with self._lock:
            run = self._runs.get(key)
            if run is None:
                if len(self._runs) >= MAX_TOKENS:
                    old = next(k for k in self._runs if k)
                    self._runs.pop(old).close()
                opts = self.engine
                run = RunSources(
                    self.source_config,
                    self.scope,
                    token,
                    timeout=httpx.Timeout(
                        connect=15.0, read=opts.stall_timeout, write=30.0, pool=None
                    ),
                    limits=httpx.Limits(
                        max_connections=opts.connections * 4,
                        max_keepalive_connections=opts.connections * 2,
                    ),
                    retries=min(4, opts.max_retries),
                )
                self._runs[key] = run
            return run

    def plan(self, repo: RepoRef, token: str | None) -> Ladder:
        """List ``repo`` over the ladder (raises the ladder's KuaidiError when nothing lists it)."""
        return plan_download(self._run(token), repo)

    def job(self, ladder: Ladder, path: str, token: str | None) -> FileJob:
        """The routes of one file of a planned ladder (shared, not cut), each rung's source
        carrying ``token`` (the server's, or a gated repo's client's own)."""
        fp = next(fp for fp in ladder.plan.files if fp.path == path)
        return FileJob(fp.expected, to_routes(fp, self._run(token).by_name()))

    def close(self) -> None:
        with self._lock:
            for run in self._runs.values():
                run.close()
            self._runs.clear()
