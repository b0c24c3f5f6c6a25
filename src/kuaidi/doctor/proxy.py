"""Proxy traps: ``no_proxy`` missing, in two disagreeing casings, with globs or CIDR, without
loopback — and, per client family, which configured mirror would go through the proxy.

The matching itself is :mod:`kuaidi.net.noproxy` (one owner for each client's semantics).
"""

from __future__ import annotations

import contextlib
import ipaddress

from kuaidi.doctor.context import Context
from kuaidi.doctor.endpoints import Endpoint, configured
from kuaidi.doctor.model import Finding, check
from kuaidi.errors import KuaidiError
from kuaidi.mirrors import default, find
from kuaidi.net.noproxy import Family, NoProxy, decide
from kuaidi.setup import no_proxy_members

# The client families users meet, as the issue names them; the doctor shows each one.
FAMILY_LABELS: dict[Family, str] = {
    "requests": "requests/pip",
    "httpx": "httpx/huggingface_hub",
    "curl": "curl",
    "uv": "uv",
}
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
KINDS = {"pip": "pypi", "uv": "pypi", "conda": "conda", "hf": "hf", "modelscope": "modelscope"}


def proxy_vars(ctx: Context) -> dict[str, str]:
    """The proxy variables that are set (non-empty)."""
    return {name: ctx.environ[name] for name in PROXY_VARS if ctx.env(name)}


def entries(value: str) -> list[str]:
    return [e.strip() for e in value.replace(" ", ",").split(",") if e.strip()]


def recommended_no_proxy(ctx: Context, extra: list[str] | None = None) -> str:
    """Loopback + every configured mirror's bare suffix + the mirrors ``kuaidi setup`` is about
    to configure (a box not set up yet would otherwise get a list without them) + the user's own
    entries, normalised."""
    mirrors = [default(kind) for kind in ("pypi", "hf", "modelscope", "python", "conda")]
    for endpoint in configured(ctx):
        if endpoint.domestic:
            # an odd URL is skipped here; its host is still listed below
            with contextlib.suppress(KuaidiError):
                mirrors.append(find(KINDS[endpoint.client], endpoint.url))
    own = []
    for value in (ctx.env("no_proxy"), ctx.env("NO_PROXY"), *(extra or [])):
        for entry in entries(value or ""):
            if not _is_cidr(entry):
                own.append(entry.removeprefix("*").lstrip("."))
    members = no_proxy_members(mirrors, own)
    covered = NoProxy.parse(members)
    hosts = [e.host for e in configured(ctx) if e.domestic and not covered.matches(e.host)]
    members = no_proxy_members(mirrors, [*own, *hosts])
    # drop entries a shorter suffix in the list already covers (mirrors.x.cn under x.cn)
    return ",".join(m for m in members if not any(m.endswith("." + s) for s in members))


def _is_cidr(entry: str) -> bool:
    if "/" not in entry:
        return False
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def _export(value: str) -> str:
    return f'export no_proxy="{value}" NO_PROXY="{value}"'


def routes(endpoint_url: str, ctx: Context) -> dict[str, str]:
    """Family label → ``direct`` / ``proxy <url>`` / ``fails: …`` for one URL."""
    shown: dict[str, str] = {}
    for family, label in FAMILY_LABELS.items():
        decision = decide(endpoint_url, ctx.environ, family)
        if decision.error:
            shown[label] = f"fails: {decision.error}"
        else:
            shown[label] = "direct" if decision.proxy is None else f"proxy {decision.proxy}"
    return shown


@check("proxy.no_proxy_missing", "error", "a proxy is exported together with no_proxy")
def check_missing(ctx: Context) -> list[Finding]:
    proxies = proxy_vars(ctx)
    if not proxies or ctx.env("no_proxy") or ctx.env("NO_PROXY"):
        return []
    value = recommended_no_proxy(ctx)
    return [
        Finding(
            "proxy.no_proxy_missing",
            "error",
            "a proxy is exported without no_proxy: every mirror and localhost go through it "
            "(pip then fails with ProxyError or crawls)",
            (*(f"{k}={v}" for k, v in proxies.items()), "no_proxy=<unset>", "NO_PROXY=<unset>"),
            f"{_export(value)}; or unset the proxy and use `turbo_on` only when needed",
        )
    ]


@check("proxy.no_proxy_casing", "warning", "no_proxy and NO_PROXY agree")
def check_casing(ctx: Context) -> list[Finding]:
    if not proxy_vars(ctx):
        return []
    low, up = ctx.env("no_proxy"), ctx.env("NO_PROXY")
    if low and up and set(entries(low)) != set(entries(up)):
        value = recommended_no_proxy(ctx)
        return [
            Finding(
                "proxy.no_proxy_casing",
                "warning",
                "no_proxy and NO_PROXY disagree: requests, httpx and curl read no_proxy, uv reads "
                "NO_PROXY, so tools route the same host differently",
                (f"no_proxy={low}", f"NO_PROXY={up}"),
                _export(value),
            )
        ]
    if bool(low) != bool(up):
        name, other = ("no_proxy", "NO_PROXY") if low else ("NO_PROXY", "no_proxy")
        return [
            Finding(
                "proxy.no_proxy_casing",
                "info",
                f"only {name} is set: a later {other} from an image or script wins for some "
                "clients",
                (f"{name}={low or up}", f"{other}=<unset>"),
                _export(recommended_no_proxy(ctx)),
            )
        ]
    return []


@check("proxy.no_proxy_wildcard", "warning", "no_proxy has no '*.' globs")
def check_wildcard(ctx: Context) -> list[Finding]:
    found = []
    for name in ("no_proxy", "NO_PROXY"):
        globs = [e for e in entries(ctx.env(name) or "") if e.startswith("*.")]
        if globs:
            found.append(f"{name} has {', '.join(globs)}")
    if not found:
        return []
    return [
        Finding(
            "proxy.no_proxy_wildcard",
            "warning",
            "no_proxy uses '*.' globs: requests and httpx 0.28 (huggingface_hub 1.x) match nothing "
            "with them, so those hosts still go through the proxy",
            tuple(found),
            f"write bare suffixes: {_export(recommended_no_proxy(ctx))}",
        )
    ]


@check("proxy.no_proxy_cidr", "warning", "no_proxy has no CIDR blocks")
def check_cidr(ctx: Context) -> list[Finding]:
    found = []
    for name in ("no_proxy", "NO_PROXY"):
        blocks = [e for e in entries(ctx.env(name) or "") if _is_cidr(e)]
        if blocks:
            found.append(f"{name} has {', '.join(blocks)}")
    if not found:
        return []
    return [
        Finding(
            "proxy.no_proxy_cidr",
            "warning",
            "no_proxy has CIDR blocks: httpx 0.28 (huggingface_hub 1.x) compares them as exact "
            "IPs and curl before 7.86 ignores them",
            tuple(found),
            "list the hosts (or IPs) by name: " + _export(recommended_no_proxy(ctx)),
        )
    ]


@check("proxy.loopback", "warning", "localhost and 127.0.0.1 bypass the proxy")
def check_loopback(ctx: Context) -> list[Finding]:
    if not proxy_vars(ctx):
        return []
    evidence = []
    for url in ("http://localhost:8000/", "http://127.0.0.1:8000/"):
        proxied = {k: v for k, v in routes(url, ctx).items() if v != "direct"}
        if proxied:
            evidence.append(f"{url}: " + ", ".join(f"{k} → {v}" for k, v in proxied.items()))
    if not evidence:
        return []
    return [
        Finding(
            "proxy.loopback",
            "warning",
            "loopback goes through the proxy for some clients: TensorBoard, local APIs and "
            "notebook servers break",
            tuple(evidence),
            _export(recommended_no_proxy(ctx)),
        )
    ]


def proxied_endpoints(ctx: Context) -> list[tuple[Endpoint, dict[str, str]]]:
    """Domestic endpoints some family would send through the proxy, with every family's route."""
    found = []
    for endpoint in configured(ctx):
        if not endpoint.domestic:
            continue
        shown = routes(endpoint.url, ctx)
        if any(v != "direct" for v in shown.values()):
            found.append((endpoint, shown))
    return found


@check("proxy.mirror_route", "error", "configured mirrors are reached directly")
def check_mirror_route(ctx: Context) -> list[Finding]:
    if not proxy_vars(ctx):
        return []
    findings = []
    for endpoint, shown in proxied_endpoints(ctx):
        findings.append(
            Finding(
                "proxy.mirror_route",
                "error",
                f"the {endpoint.client} mirror {endpoint.host} would go through the proxy "
                f"for {', '.join(k for k, v in shown.items() if v != 'direct')}",
                (
                    f"{endpoint.client}: {endpoint.url} (from {endpoint.source})",
                    *(f"{k}: {v}" for k, v in shown.items()),
                ),
                _export(recommended_no_proxy(ctx)),
            )
        )
    return findings
