"""Which hosts go through which proxy: the origin through the proxy, every other host direct.

A proxy on a CN GPU box (AutoDL's network_turbo, a Clash on the laptop, ``--proxy``) exists to
reach huggingface.co. Sent through it, a domestic mirror crawls (platforms.md §4). So kuaidi's
rule is narrower than any ``no_proxy`` list: *only* origin hosts use the proxy —

- the Hub's hosts (``ORIGIN_SUFFIXES``: huggingface.co, hf.co and their subdomains such as
  cdn-lfs-us-1.huggingface.co, cas-bridge.xethub.hf.co, us.aws.cdn.hf.co), unless the user's
  ``no_proxy``/``NO_PROXY`` exempts them (kuaidi's :class:`~kuaidi.net.noproxy.NoProxy` rule);
- any ``host:port`` the caller marks as origin (e.g. the simulator's walled origin) — always,
  since the caller knows that host is reachable only through the proxy;

and every other host goes direct, whatever ``http_proxy``/``https_proxy`` the shell exported.

The proxy is, first match wins: ``proxy=`` (``--proxy``), ``KUAIDI_PROXY``, the shell's
``https_proxy``/``http_proxy``/``all_proxy`` (lowercase first, as urllib), AutoDL's
``/etc/network_turbo``. ``none``/``off``/``direct``/empty in the first two means no proxy.

>>> scope = ProxyScope(proxy="http://10.0.0.1:12798")
>>> scope.proxy_for("https://huggingface.co/api/models/gpt2"), scope.proxy_for("https://hf-mirror.com/")
('http://10.0.0.1:12798', None)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from kuaidi.errors import KuaidiError, UsageError
from kuaidi.model import origin_of
from kuaidi.net.noproxy import NoProxy, shell_proxy_variables
from kuaidi.net.proxyurl import proxy_problem, with_scheme
from kuaidi.net.turbo import DEFAULT_PATH, parse_network_turbo
from kuaidi.net.urls import check_hostport, redact

ORIGIN_SUFFIXES: tuple[str, ...] = ("huggingface.co", "hf.co")
CA_VARS: tuple[str, ...] = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_OFF = ("", "none", "off", "direct", "no", "0")


def normalize_proxy(value: str, where: str, error: type[UsageError] = UsageError) -> str:
    """``value`` as ``scheme://host:port`` (``http://`` added when missing); ``error`` naming
    ``where`` and the (redacted) value if it is not one."""
    reason = proxy_problem(value)
    if reason is not None:
        raise error(
            f"{where} is {redact(value.strip())[:200]!r}, which is not a proxy URL: {reason}",
            fix=f"give {where} as http://HOST:PORT (or 'none' for no proxy)",
        )
    return with_scheme(value)


def _hostport(url: str) -> tuple[str, int]:
    """``(host, port)`` of ``url``; a bare ``host:port`` is http, as proxies read it."""
    _, host, port = origin_of(url if "://" in url else f"http://{url}")
    return host, port


@dataclass(frozen=True)
class ProxyScope:
    """The routing rule every kuaidi client follows (see the module docstring)."""

    proxy: str | None = None
    source: str = ""  # where the proxy came from, for --explain and the doctor
    origin_suffixes: tuple[str, ...] = ORIGIN_SUFFIXES
    origin_hostports: frozenset[tuple[str, int]] = frozenset()
    no_proxy: NoProxy = field(default_factory=NoProxy)
    notes: tuple[str, ...] = ()
    # Extra CA bundles to trust besides certifi's: what the user's clients are told to use
    # (SSL_CERT_FILE, REQUESTS_CA_BUNDLE) and what a turbo file exports with its proxy — a lab
    # or platform proxy that inspects TLS signs with a CA that only those bundles hold.
    ca_files: tuple[str, ...] = ()
    # Why the turbo file gave no proxy, when it exists but is malformed: the caller decides
    # whether that is fatal (the user asked for the origin) or a warning.
    turbo_error: KuaidiError | None = field(default=None, compare=False)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def direct(cls) -> ProxyScope:
        """Every host direct (no proxy at all)."""
        return cls(proxy=None, source="no proxy")

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        proxy: str | None = None,
        turbo_path: Path | str | None = DEFAULT_PATH,
        origins: Iterable[str] = (),
    ) -> ProxyScope:
        """The scope for this process: proxy from ``proxy``/env/turbo, the user's no_proxy.

        ``origins`` are extra ``host:port`` or URLs to treat as origin (always proxied).
        A ``proxy``, ``KUAIDI_PROXY``, shell proxy variable or ``no_proxy`` that is not
        well-formed raises :class:`~kuaidi.errors.UsageError` naming it; a malformed turbo
        file (the platform's, not the user's) only leaves a note in ``notes`` and
        ``turbo_error``: the origin may not even be needed.
        """
        env = os.environ if environ is None else environ
        notes: list[str] = []
        chosen: str | None = None
        source = "no proxy configured"
        for value, where in ((proxy, "--proxy"), (env.get("KUAIDI_PROXY"), "KUAIDI_PROXY")):
            if value is not None:
                if value.strip().lower() in _OFF:
                    return cls(source=f"{where} says no proxy", no_proxy=NoProxy.from_env(env))
                chosen, source = normalize_proxy(value, where), where
                break
        if chosen is None:
            # The shell's variables are the user's own: a malformed one is an error naming it,
            # not a silent fall-through to the next variable (another proxy than they meant).
            shell = shell_proxy_variables(env)
            for key in ("https", "http", "all"):
                if key in shell:
                    name, value = shell[key]
                    chosen, source = normalize_proxy(value, name), name
                    break
        turbo_ca = None
        turbo_error: KuaidiError | None = None
        if chosen is None and turbo_path is not None:
            try:
                turbo = parse_network_turbo(turbo_path)
            except KuaidiError as exc:
                notes.append(exc.message)
                turbo_error = exc
                turbo = None
            if turbo is not None:
                chosen, source, turbo_ca = turbo.proxy, str(turbo.path), turbo
        ca = [env.get(name, "") for name in CA_VARS]
        if turbo_ca is not None:
            ca += [turbo_ca.env.get(name, "") for name in CA_VARS]
        scope = cls(
            proxy=chosen,
            source=source,
            no_proxy=NoProxy.from_env(env),
            notes=tuple(notes),
            turbo_error=turbo_error,
            ca_files=tuple(dict.fromkeys(f for f in ca if f and os.path.isfile(f))),
        )
        return scope.with_origin(*origins)

    def with_origin(self, *hosts: str) -> ProxyScope:
        """This scope plus ``host:port`` (or URL) entries that must go through the proxy."""
        if not hosts:
            return self
        extra = {_hostport(check_hostport(h, what="origin host")) for h in hosts}
        return replace(self, origin_hostports=self.origin_hostports | extra)

    def with_proxy(self, proxy: str | None, source: str = "caller") -> ProxyScope:
        """This scope with another proxy (None: origin direct too)."""
        url = normalize_proxy(proxy, source) if proxy else None
        return replace(self, proxy=url, source=source)

    # -- decisions ---------------------------------------------------------------------------
    def is_origin(self, url: str) -> bool:
        """True for an origin host (Hub suffixes or a marked ``host:port``)."""
        host, port = _hostport(url)
        if (host, port) in self.origin_hostports:
            return True
        return any(host == s or host.endswith("." + s) for s in self.origin_suffixes)

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL for ``url``, or None for a direct connection."""
        return self._decide(url)[0]

    def explain(self, url: str) -> str:
        """One line saying how ``url`` is reached and why (for ``--explain`` and the doctor)."""
        return self._decide(url)[1]

    def _decide(self, url: str) -> tuple[str | None, str]:
        host, port = _hostport(url)
        where, shown = f"{host}:{port}", redact(self.proxy)
        if (host, port) in self.origin_hostports:
            if self.proxy is None:
                return None, f"{where} is marked origin but no proxy is set ({self.source}): direct"
            return self.proxy, f"{where} is marked origin: through {shown} ({self.source})"
        if not self.is_origin(url):
            return None, f"{host} is not an origin host: direct (kuaidi never proxies mirrors)"
        if self.no_proxy.matches(host):
            return None, f"{host} is an origin host exempted by your no_proxy: direct"
        if self.proxy is None:
            return None, f"{host} is an origin host but {self.source}: direct"
        return self.proxy, f"{host} is an origin host: through {shown} ({self.source})"

    def __repr__(self) -> str:
        marked = sorted(f"{h}:{p}" for h, p in self.origin_hostports)
        return f"ProxyScope(proxy={redact(self.proxy)!r}, source={self.source!r}, marked={marked})"
