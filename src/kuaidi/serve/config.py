"""The one configuration value of ``kuaidi serve``: what the CLI parsed, the app is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kuaidi.get import SourceOptions


@dataclass(frozen=True)
class ServeConfig:
    """Where the server listens and keeps its store, and how it reaches its upstream.

    ``endpoints``/``sources``/``token`` are the route ladder's, as ``kuaidi get`` takes them;
    ``token`` is the server's own and lends access to gated repos only with ``share_gated``.
    ``branch_ttl``: seconds a branch's commit is trusted before upstream is asked again.
    """

    cache_dir: Path
    host: str = "127.0.0.1"
    port: int = 8090
    max_size: int | None = None
    offline: bool = False
    pins: tuple[str, ...] = ()
    share_gated: bool = False
    endpoints: tuple[str, ...] = ()
    sources: SourceOptions = field(default_factory=SourceOptions)
    token: str | None = field(default=None, repr=False)
    branch_ttl: float = 60.0
    connections: int = 8
    stall_timeout: float = 20.0
    journal_every: int | None = None
