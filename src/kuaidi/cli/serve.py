"""``kuaidi serve``: a LAN pull-through mirror of the Hub (and ModelScope) over kuaidi's ladder."""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import click

from kuaidi.cli.ladder_options import PROXY, ladder_options, source_options
from kuaidi.errors import UsageError
from kuaidi.get import default_cache_dir, default_token
from kuaidi.units import parse_size


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8090, show_default=True)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The store, an HF cache (default HF_HUB_CACHE or $HF_HOME/hub).",
)
@click.option("--max-size", metavar="SIZE", help="Disk budget, e.g. 500GiB (LRU eviction).")
@click.option("--offline", is_flag=True, help="Serve only what is cached; never ask upstream.")
@click.option("--pin", "pins", multiple=True, metavar="REPO", help="Never evict REPO; repeatable.")
@click.option(
    "--share-gated",
    is_flag=True,
    help="Let the server's --token serve gated repos to every LAN client (default: only to "
    "clients whose own token the Hub accepts).",
)
@click.option(
    "--branch-ttl",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds a branch's commit is trusted before upstream is asked again.",
)
@ladder_options
@PROXY
@click.option("--connections", "-n", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--stall-timeout", type=click.FloatRange(0.1), default=20.0, show_default=True)
@click.option("--journal-every", type=click.IntRange(65536), hidden=True)
def command(
    host: str,
    port: int,
    cache_dir: Path | None,
    max_size: str | None,
    offline: bool,
    pins: tuple[str, ...],
    share_gated: bool,
    branch_ttl: float,
    endpoints: tuple[str, ...],
    modelscope_endpoint: str | None,
    origin: str | None,
    origin_hosts: tuple[str, ...],
    network_turbo: str | None,
    source: str | None,
    allow_modelscope_only: bool,
    token: str | None,
    proxy: str | None,
    connections: int,
    stall_timeout: float,
    journal_every: int | None,
) -> int:
    """Serve the HF protocol on the LAN: clients set HF_ENDPOINT=http://HOST:PORT (and
    MODELSCOPE_ENDPOINT for the modelscope SDK); each blob crosses the border once, is streamed
    to every client as it lands, verified, and kept in an HF cache."""
    import uvicorn

    from kuaidi.serve.app import build_app
    from kuaidi.serve.config import ServeConfig
    from kuaidi.serve.hooks import Budget, Gate, NullBudget, NullStats, Stats

    cache = cache_dir if cache_dir is not None else default_cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the store {cache}: {exc.strerror or exc}",
            fix="point --cache-dir at a writable directory",
        ) from exc
    config = ServeConfig(
        cache_dir=cache,
        host=host,
        port=port,
        max_size=None if max_size is None else parse_size(max_size, what="--max-size"),
        offline=offline,
        pins=pins,
        share_gated=share_gated,
        endpoints=endpoints,
        sources=source_options(
            modelscope_endpoint=modelscope_endpoint,
            origin=origin,
            origin_hosts=origin_hosts,
            source=source,
            allow_modelscope_only=allow_modelscope_only,
            proxy=proxy,
            network_turbo=network_turbo,
        ),
        token=token or default_token(),
        branch_ttl=branch_ttl,
        connections=connections,
        stall_timeout=stall_timeout,
        journal_every=journal_every,
    )
    stats: Stats = _optional("kuaidi.serve.stats", "ServeStats") or NullStats()
    budget: Budget = NullBudget()
    if config.max_size is not None:
        budget = _optional("kuaidi.serve.budget", "LruBudget", cache, config.max_size, pins) or (
            NullBudget()
        )
    gate: Gate | None = None
    if endpoints and not offline:
        gate = _optional(
            "kuaidi.serve.gate", "UpstreamGate", endpoints[0], token=config.token,
            share_gated=share_gated,
        )  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="kuaidi serve: %(message)s", stream=sys.stderr)
    app = build_app(config, stats=stats, budget=budget, gate=gate)
    click.echo(f"kuaidi serve: http://{host}:{port} (store {cache})", err=True)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # request lines only would do, but keep the log to what matters
            timeout_keep_alive=15,
            limit_concurrency=4096,
            backlog=2048,
        )
    )
    server.run()
    return 0


def _optional(module: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """Build ``module.name(...)`` when that module is installed (built beside serve), else None."""
    with contextlib.suppress(ImportError):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)
    return None
