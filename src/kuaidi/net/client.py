"""The one way kuaidi opens HTTP connections: an ``httpx.Client`` routed by a :class:`ProxyScope`.

``trust_env=False`` everywhere, so the shell's ``http_proxy`` never leaks in; each request is
routed by the scope (origin → proxy, the rest direct) through one transport per route, each
with its own keep-alive pool sized for the segmented downloader.

For example::

    from kuaidi.net import ProxyScope, make_client
    scope = ProxyScope.from_env()
    client = make_client(scope, token=tok, token_host="https://hf-mirror.com")
"""

from __future__ import annotations

import functools
import ssl
import threading

import certifi
import httpx

import kuaidi
from kuaidi.errors import KuaidiError
from kuaidi.net import bulk
from kuaidi.net.auth import ScopedToken, authorization_guard, warn_if_cleartext
from kuaidi.net.scope import ProxyScope
from kuaidi.net.urls import redact

# connect: a dead mirror must fail fast; read: also the stall watchdog (no byte for 30 s);
# pool: a segment waiting for a free connection is not a stall.
DEFAULT_TIMEOUT = httpx.Timeout(connect=15.0, read=30.0, write=30.0, pool=120.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=60)
_IDEMPOTENT = ("GET", "HEAD", "OPTIONS")
USER_AGENT = f"kuaidi/{getattr(kuaidi, '__version__', '0')} httpx/{httpx.__version__}"


@functools.cache
def _trust_store(extra: tuple[str, ...] = ()) -> ssl.SSLContext:
    """One verifying TLS context per set of CA bundles (certifi's CAs, as httpx uses by default,
    plus ``extra``). Building one costs ~15 ms (parsing the bundle); a run makes a client per
    source and a transport per route, so they share it."""
    context = ssl.create_default_context(cafile=certifi.where())
    for cafile in extra:
        try:
            context.load_verify_locations(cafile=cafile)
        except ssl.SSLError as exc:
            raise KuaidiError(
                f"{cafile} is not a CA bundle kuaidi can read ({exc.reason or exc})",
                fix="point SSL_CERT_FILE / REQUESTS_CA_BUNDLE at a PEM file, or unset them",
            ) from exc
    return context


class ScopedTransport(httpx.BaseTransport):
    """Sends each request direct or through the scope's proxy, per request URL."""

    def __init__(
        self, scope: ProxyScope, *, limits: httpx.Limits = DEFAULT_LIMITS, verify: bool = True
    ) -> None:
        self.scope = scope
        self._limits = limits
        self._verify: ssl.SSLContext | bool = _trust_store(scope.ca_files) if verify else False
        self._direct = httpx.HTTPTransport(limits=limits, verify=self._verify, trust_env=False)
        bulk.install(self._direct)  # big socket reads: the per-read overhead was most CPU
        self._proxied: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def transport_for(self, url: str) -> httpx.HTTPTransport:
        proxy = self.scope.proxy_for(url)
        if proxy is None:
            return self._direct
        with self._lock:
            transport = self._proxied.get(proxy)
            if transport is None:
                try:
                    transport = httpx.HTTPTransport(
                        proxy=proxy, limits=self._limits, verify=self._verify, trust_env=False
                    )
                except ImportError as exc:  # socks5 needs the optional socksio package
                    raise KuaidiError(
                        f"the proxy {redact(proxy)} needs a package httpx lacks: {exc}",
                        fix="use an http:// proxy, or pip install 'httpx[socks]'",
                    ) from exc
                bulk.install(transport)
                self._proxied[proxy] = transport
        return transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.transport_for(str(request.url))
        try:
            return transport.handle_request(request)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            # A pooled keep-alive connection the peer (often a proxy) closed or reset just as we
            # reused it: no response arrived, so a body-less idempotent request is safe to send
            # again (errors while reading a body come later, from the response stream).
            if request.method not in _IDEMPOTENT or request.headers.get("content-length"):
                raise
            return transport.handle_request(request)

    def close(self) -> None:
        self._direct.close()
        with self._lock:
            for transport in self._proxied.values():
                transport.close()
            self._proxied.clear()


def make_client(
    scope: ProxyScope | None = None,
    *,
    token: str | None = None,
    token_host: str | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    limits: httpx.Limits = DEFAULT_LIMITS,
    follow_redirects: bool = False,
    headers: dict[str, str] | None = None,
    verify: bool = True,
) -> httpx.Client:
    """An ``httpx.Client`` whose every request follows ``scope`` (default: from the environment).

    ``token`` is sent as ``Authorization: Bearer`` only to ``token_host``'s origin (an endpoint
    URL such as ``https://hf-mirror.com``; a bare host means https) and stripped from any other
    request, redirect hops included. Redirects are not followed unless asked: the HF protocol
    reads the redirect itself (X-Linked-Etag, signed CDN URLs).

    >>> client = make_client(ProxyScope.direct())
    >>> client.trust_env
    False
    """
    if token and not token_host:
        raise ValueError("make_client(token=...) needs token_host: the one origin it may go to")
    scope = ProxyScope.from_env() if scope is None else scope
    auth = ScopedToken(token, token_host) if token and token_host else None
    if auth is not None and token_host:  # (auth is only made with a token_host)
        proxy = scope.proxy_for(token_host)
        warn_if_cleartext(auth.origin, proxy, redact(proxy))
    hooks = {"request": [authorization_guard([auth.origin])]} if auth else {}
    return httpx.Client(
        transport=ScopedTransport(scope, limits=limits, verify=verify),
        trust_env=False,
        timeout=timeout,
        follow_redirects=follow_redirects,
        auth=auth,
        headers={"user-agent": USER_AGENT, **(headers or {})},
        event_hooks=hooks,
    )
