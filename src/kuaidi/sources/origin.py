"""The origin — huggingface.co itself — as a source, reached only through the proxy.

No second HF client: the origin *is* :class:`~kuaidi.sources.hf.HFSource` (the downloader's
HF-protocol source), given a client whose :class:`~kuaidi.net.scope.ProxyScope` routes the Hub's
hosts through the proxy (``--proxy``, ``KUAIDI_PROXY``, the shell's, or AutoDL's
network_turbo) while every other host stays direct. It is the ladder's last rung: slow,
metered, but it has everything.

For a non-Hub origin (the simulator's walled ``origin``), pass ``extra_origins`` — the endpoint
and its CDN host(s): redirects from the origin land on hosts the scope must also proxy.

For example::

    origin = OriginSource()
    origin.explain()
    # 'huggingface.co is an origin host: through http://172.31.1.128:12798 (/etc/network_turbo)'
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from kuaidi.net.client import make_client
from kuaidi.net.scope import ProxyScope
from kuaidi.sources.hf import HFSource

HF_ORIGIN = "https://huggingface.co"


class OriginSource(HFSource):
    """HF protocol against the origin, with a proxy-scoped client (see the module docstring)."""

    def __init__(
        self,
        endpoint: str = HF_ORIGIN,
        *,
        scope: ProxyScope | None = None,
        client: httpx.Client | None = None,
        token: str | None = None,
        extra_origins: Iterable[str] = (),
        name: str = "origin",
        retries: int = 4,
    ) -> None:
        scope = ProxyScope.from_env() if scope is None else scope
        marked = [] if scope.is_origin(endpoint) else [endpoint]
        self.scope = scope.with_origin(*marked, *extra_origins)
        if client is None:
            client = make_client(self.scope)
        super().__init__(endpoint, client, token, name=name, retries=retries)
        self.kind = "origin"

    @property
    def proxied(self) -> bool:
        """True when requests to the origin go through a proxy."""
        return self.scope.proxy_for(self.endpoint) is not None

    def explain(self) -> str:
        """How the origin is reached, in one line (for ``--explain``)."""
        return self.scope.explain(self.endpoint)

    def __repr__(self) -> str:
        return f"OriginSource({self.endpoint!r}, scope={self.scope!r})"
