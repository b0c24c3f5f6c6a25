"""A bearer token that goes to one origin only — never to the CDN an endpoint redirects to.

An origin is ``(scheme, host, port)``: ``https://hf-mirror.com`` and ``http://hf-mirror.com``
differ, as do two ports of one host. The token never appears in ``repr``/``str``.

>>> auth = ScopedToken("hf_secret", "https://hf-mirror.com")
>>> auth
ScopedToken(origin='https://hf-mirror.com:443')
>>> auth.headers_for("https://cdn.hf-mirror.com/x")
{}
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator, Iterable

import httpx

from kuaidi.errors import KuaidiWarning
from kuaidi.model import Origin, origin_of


def _show(origin: Origin) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}:{port}"


class ScopedToken(httpx.Auth):
    """``Authorization: Bearer`` on requests to ``endpoint``'s origin, nothing elsewhere."""

    def __init__(self, token: str, endpoint: str) -> None:
        if not token or any(c in token for c in "\r\n"):
            raise ValueError("a token must be a non-empty single line")
        self._token = token
        self.origin = origin_of(endpoint)

    def applies_to(self, url: str | httpx.URL) -> bool:
        return origin_of(str(url)) == self.origin

    def headers_for(self, url: str | httpx.URL) -> dict[str, str]:
        """The header to add for ``url`` (empty when ``url`` is on another origin)."""
        return {"authorization": f"Bearer {self._token}"} if self.applies_to(url) else {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.applies_to(request.url):
            request.headers["authorization"] = f"Bearer {self._token}"
        else:
            request.headers.pop("authorization", None)
        yield request

    def __repr__(self) -> str:
        return f"ScopedToken(origin={_show(self.origin)!r})"

    __str__ = __repr__


def authorization_guard(allowed: Iterable[Origin]) -> Callable[[httpx.Request], None]:
    """A request hook that removes ``Authorization`` from any request off ``allowed`` origins.

    httpx runs request hooks on every hop, redirects included, so this holds even for a
    header a caller set by hand.
    """
    keep = frozenset(allowed)

    def guard(request: httpx.Request) -> None:
        if "authorization" in request.headers and origin_of(str(request.url)) not in keep:
            del request.headers["authorization"]

    return guard


def warn_if_cleartext(origin: Origin, proxy: str | None, shown_proxy: str | None = None) -> None:
    """Warn (once) when a token for a plain-``http://`` origin goes through a proxy.

    Over http the proxy — a platform's shared one, a lab's — reads the token. kuaidi warns
    rather than refuses: the default origin is https, so this happens only for an origin the
    user named (a self-hosted hub, the simulator), and refusing the one host they asked for
    helps nobody; the warning says how to keep the token private.
    """
    scheme, host, port = origin
    if scheme != "http" or proxy is None:
        return
    warnings.warn(
        f"the HF token for http://{host}:{port} crosses the proxy {shown_proxy or 'in use'} in "
        "clear text (fix: use an https:// origin, or pass --token '' to send none)",
        KuaidiWarning,
        stacklevel=3,
    )
