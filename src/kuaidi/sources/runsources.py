"""The sources of one ``kuaidi get`` run: which mirrors, ModelScope, the origin; one client each.

- **Mirrors** (HF protocol, direct): ``--endpoint`` (repeatable, in order), else
  ``HF_ENDPOINT``, else hf-mirror.com. A URL the proxy scope calls an origin host
  (huggingface.co, a marked ``host:port``) is the origin rung instead.
- **ModelScope** (direct): ``--modelscope-endpoint`` (``none`` turns it off), else as the SDKs
  read it (``MODELSCOPE_ENDPOINT``, ``MODELSCOPE_DOMAIN``, www.modelscope.cn).
- **The origin**: ``--origin`` / ``KUAIDI_ORIGIN`` / huggingface.co, plus ``--origin-host`` /
  ``KUAIDI_ORIGIN_HOSTS`` (a non-Hub origin's CDN hosts, so its redirects are proxied too). It is
  a rung only when the scope gives it a proxy: kuaidi never tries it directly unless
  ``--source origin`` forces it.

Tokens: the HF token goes to a mirror only when the user named it (the default mirror is
someone else's server) and to the origin; ModelScope gets only ``MODELSCOPE_API_TOKEN``. Listing
and planning over these sources: :mod:`kuaidi.sources.runplan`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from kuaidi.errors import KuaidiWarning, PathError, UsageError
from kuaidi.model import RouteKind, Source
from kuaidi.net.client import make_client
from kuaidi.net.scope import ProxyScope
from kuaidi.net.turbo import DEFAULT_PATH, parse_network_turbo
from kuaidi.net.urls import check_hostport, check_url
from kuaidi.sources.hf import HFSource
from kuaidi.sources.modelscope import ModelScopeSource, env_endpoint
from kuaidi.sources.origin import HF_ORIGIN, OriginSource

DEFAULT_MIRROR = "https://hf-mirror.com"
FORCE_KINDS: dict[str, RouteKind] = {
    "mirror": "mirror",
    "hf-mirror": "mirror",
    "modelscope": "modelscope",
    "origin": "origin",
}
_OFF = ("none", "off", "no", "0", "")
_ENV_PROXIES = ("kuaidi_proxy", "http_proxy", "https_proxy", "all_proxy")
PROXY_FIX = "set a proxy for it: --proxy URL, KUAIDI_PROXY, or AutoDL's /etc/network_turbo"


@dataclass(frozen=True)
class SourceConfig:
    """Where a run may fetch from, before anything is contacted (see the module docstring)."""

    mirrors: tuple[str, ...]
    mirrors_named: bool  # the user named them: only then does the HF token go to them
    modelscope: str | None  # endpoint URL, None = ModelScope off
    origin: str
    origin_hosts: tuple[str, ...]
    force: RouteKind | None = None
    allow_modelscope_only: bool = False

    @classmethod
    def from_args(
        cls,
        *,
        endpoint: str | Sequence[str] | None,
        modelscope_endpoint: str | None,
        origin: str | None,
        origin_hosts: Sequence[str],
        source: str | None,
        allow_modelscope_only: bool,
        environ: Mapping[str, str] | None = None,
    ) -> SourceConfig:
        env = os.environ if environ is None else environ
        if isinstance(endpoint, str):
            endpoint = [endpoint]
        named = bool(endpoint) or bool(env.get("HF_ENDPOINT"))
        if endpoint:
            mirrors = tuple(_url(u, "endpoint", "--endpoint", DEFAULT_MIRROR) for u in endpoint)
        else:
            value = env.get("HF_ENDPOINT") or DEFAULT_MIRROR
            mirrors = (_url(value, "endpoint", "HF_ENDPOINT", DEFAULT_MIRROR),)
        if source is not None and source not in FORCE_KINDS:
            raise UsageError(
                f"unknown --source {source!r}", fix="use one of: " + ", ".join(FORCE_KINDS)
            )
        ms: str | None
        ms_example = "https://www.modelscope.cn"
        if modelscope_endpoint is not None and modelscope_endpoint.strip().lower() in _OFF:
            ms = None
        elif modelscope_endpoint:
            ms = _url(modelscope_endpoint, "--modelscope-endpoint", None, ms_example)
        else:  # as the SDKs read it (a MODELSCOPE_DOMAIN is a bare host)
            var = "MODELSCOPE_ENDPOINT" if env.get("MODELSCOPE_ENDPOINT") else "MODELSCOPE_DOMAIN"
            ms = _url(env_endpoint(env), "ModelScope endpoint", var, ms_example)
        hosts = [check_hostport(h, what="--origin-host") for h in origin_hosts]
        hosts += [
            check_hostport(h, what="KUAIDI_ORIGIN_HOSTS")
            for h in env.get("KUAIDI_ORIGIN_HOSTS", "").replace(",", " ").split()
        ]
        origin_what = "--origin" if origin else "KUAIDI_ORIGIN"
        origin_url = _url(
            origin or env.get("KUAIDI_ORIGIN") or HF_ORIGIN, "origin", origin_what, HF_ORIGIN
        )
        return cls(
            mirrors=mirrors,
            mirrors_named=named,
            modelscope=ms,
            origin=origin_url,
            origin_hosts=tuple(hosts),
            force=FORCE_KINDS[source] if source else None,
            allow_modelscope_only=allow_modelscope_only or source == "modelscope",
        )


def _url(value: str, what: str, source: str | None, example: str) -> str:
    return check_url(value, what=what, source=source, example=example).rstrip("/")


def make_scope(
    proxy: str | None,
    network_turbo: str | Path | None,
    config: SourceConfig,
    environ: Mapping[str, str] | None = None,
) -> ProxyScope:
    """The run's proxy scope: origin hosts (and ``config.origin_hosts``) through the proxy.

    A turbo file the user named (``network_turbo``) must exist and parse — a silent fallback
    to "no proxy" would leave them wondering why the origin is never used. It then comes right
    after ``--proxy``: an explicit option beats the environment.
    """
    env = os.environ if environ is None else environ
    if network_turbo is not None:
        # KuaidiError naming the file if malformed (from_env would only note it)
        if parse_network_turbo(network_turbo) is None:
            raise PathError(
                f"{network_turbo} does not exist",
                fix="pass the path of the network_turbo file, or name the proxy with --proxy URL",
            )
        # The named file beats KUAIDI_PROXY and the shell's proxy: without them the scope takes
        # its proxy — and the CA bundle it exports — from the file.
        env = {k: v for k, v in env.items() if k.lower() not in _ENV_PROXIES}
    scope = ProxyScope.from_env(
        env, proxy=proxy, turbo_path=DEFAULT_PATH if network_turbo is None else network_turbo
    )
    if scope.turbo_error is not None:
        # The platform's file, not one the user named: it only matters for the origin. Asked
        # for the origin, its proxy is needed — an error; otherwise mirrors work, so say it once.
        if config.force == "origin":
            raise scope.turbo_error
        warnings.warn(
            f"{scope.turbo_error.message} — file ignored: the origin is not used without a proxy"
            f" (fix: {scope.turbo_error.fix})",
            KuaidiWarning,
            stacklevel=2,
        )
    marks = [] if scope.is_origin(config.origin) else [config.origin]
    return scope.with_origin(*marks, *config.origin_hosts)


@dataclass(frozen=True)
class SourceLine:
    """How one source is reached (for ``--explain`` and ``--json``)."""

    name: str
    kind: str
    url: str
    route: str
    token: bool

    def text(self) -> str:
        if self.kind == "modelscope":  # never gets the HF token; its own is not ours to report
            return f"  {self.name} [{self.kind}] {self.url}: {self.route}"
        token = "HF token sent" if self.token else "no HF token"
        return f"  {self.name} [{self.kind}] {self.url}: {self.route}; {token}"


class RunSources:
    """The source objects of one run and the clients they own (``close()`` them)."""

    def __init__(
        self,
        config: SourceConfig,
        scope: ProxyScope,
        token: str | None,
        *,
        timeout: httpx.Timeout,
        limits: httpx.Limits,
        retries: int,
        client: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.config, self.scope = config, scope
        self._clients: list[httpx.Client] = []
        self._shared = client  # a caller's client (tests, embedding) serves every source

        def new_client(tok: str | None = None, host: str | None = None) -> httpx.Client:
            if self._shared is not None:
                return self._shared
            made = make_client(scope, token=tok, token_host=host, timeout=timeout, limits=limits)
            self._clients.append(made)
            return made

        origin_url = config.origin
        origin_named = False
        self.mirrors: list[HFSource] = []
        self._tokened: dict[str, bool] = {}  # for --explain: whether, never the token itself
        for url in config.mirrors:
            if scope.is_origin(url):  # huggingface.co named as a "mirror" is the origin rung
                origin_url = url
                origin_named = config.mirrors_named
                continue
            tok = token if config.mirrors_named else None
            name = _unique(urlsplit(url).netloc, [m.name for m in self.mirrors])
            client_ = new_client(tok, url if tok else None)
            self.mirrors.append(HFSource(url, client_, tok, name=name, retries=retries))
            self._tokened[name] = tok is not None
        self.origin = OriginSource(
            origin_url,
            scope=scope,
            client=new_client(token, origin_url if token else None),
            token=token,
            extra_origins=config.origin_hosts,
            retries=retries,
        )
        self.origin_token = token is not None
        # The origin is a rung through a proxy — or directly when the user named it as the
        # endpoint (HF_ENDPOINT=https://huggingface.co: abroad, or a VPN in TUN mode), since
        # refusing the one host they asked for helps nobody; the doctor flags that setting.
        self.origin_usable = self.origin.proxied or config.force == "origin" or origin_named
        self.modelscope: ModelScopeSource | None = None
        if config.modelscope is not None:
            ms_token = env.get("MODELSCOPE_API_TOKEN") or None
            # One retry: a ModelScope that is down must not hold up the mirror's download.
            self.modelscope = ModelScopeSource(
                config.modelscope, new_client(), ms_token, retries=min(1, retries)
            )

    def origin_unused(self) -> str:
        """Why the origin is not a rung (no proxy reaches it), without the scope's ": direct":
        kuaidi never goes to the origin directly unless forced."""
        return self.origin.explain().removesuffix(": direct")

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def by_name(self) -> dict[str, Source]:
        """Source objects by name (what ``ladder.to_routes`` builds each rung's Route with)."""
        out: dict[str, Source] = {m.name: m for m in self.mirrors}
        out[self.origin.name] = self.origin
        if self.modelscope is not None:
            out[self.modelscope.name] = self.modelscope
        return out

    def lines(self) -> list[SourceLine]:
        out = [
            SourceLine(
                m.name, "mirror", m.endpoint, self.scope.explain(m.endpoint), self._tokened[m.name]
            )
            for m in self.mirrors
        ]
        if self.modelscope is not None:
            url = self.modelscope.endpoint
            out.append(SourceLine("modelscope", "modelscope", url, self.scope.explain(url), False))
        o = self.origin
        route = o.explain() if self.origin_usable else f"{self.origin_unused()}: not used"
        out.append(SourceLine(o.name, "origin", o.endpoint, route, self.origin_token))
        return out


def _unique(name: str, taken: list[str]) -> str:
    n, out = 1, name
    while out in taken:
        n += 1
        out = f"{name}#{n}"
    return out
