"""Live checks: each configured endpoint answers, TLS verifies, through the route its client
will really take (direct, or the proxy its family picks). Skipped with ``--offline``."""

from __future__ import annotations

import ssl
from concurrent.futures import ThreadPoolExecutor

import httpx

from kuaidi.doctor.context import Context
from kuaidi.doctor.endpoints import Endpoint, configured
from kuaidi.doctor.model import Finding, check
from kuaidi.net.noproxy import Family, decide

# Marks a problem that is the proxy's, not the endpoint's: reported once, naming the proxy.
PROXY_FAULT = "proxy: "

# Which client family each tool is (mirrors-and-config.md §7).
FAMILY: dict[str, Family] = {
    "pip": "requests",
    "uv": "uv",
    "conda": "requests",
    "hf": "httpx",
    "modelscope": "requests",
}


def probe_url(endpoint: Endpoint) -> str:
    """A small request that proves the endpoint serves (not a multi-MB index root)."""
    url = endpoint.url.rstrip("/")
    if endpoint.client in ("pip", "uv"):
        return url + "/pip/"
    return url + "/"


def trust(endpoint: Endpoint, ctx: Context) -> ssl.SSLContext | bool:
    """The CA bundle that client would verify with: requests-family tools honour
    ``REQUESTS_CA_BUNDLE`` then ``SSL_CERT_FILE`` (AutoDL's turbo file exports both); the others
    ``SSL_CERT_FILE``. Default: the certifi bundle httpx ships."""
    names = ["SSL_CERT_FILE"]
    if FAMILY[endpoint.client] == "requests":
        names.insert(0, "REQUESTS_CA_BUNDLE")
    for name in names:
        value = ctx.env(name)
        if value and ctx.on_box(value).is_file():
            return ssl.create_default_context(cafile=str(ctx.on_box(value)))
    return True


def reach(endpoint: Endpoint, ctx: Context) -> tuple[str, str | None]:
    """(route, problem) for one endpoint; problem None means it answered."""
    decision = decide(endpoint.url, ctx.environ, FAMILY[endpoint.client])
    route = "direct" if decision.proxy is None else f"proxy {decision.proxy}"
    if decision.error:
        return route, f"the client refuses this environment: {decision.error}"
    try:
        with httpx.Client(
            proxy=decision.proxy,
            trust_env=False,
            timeout=ctx.timeout,
            follow_redirects=True,
            verify=trust(endpoint, ctx),
        ) as client:
            response = client.head(probe_url(endpoint))
            if response.status_code == 405:
                with client.stream("GET", probe_url(endpoint)) as streamed:
                    response = streamed
    except httpx.ProxyError as exc:
        return route, f"{PROXY_FAULT}the proxy refused: {exc}"
    except httpx.ConnectTimeout:
        # through a proxy, the connection that timed out is the one to the proxy
        blame = PROXY_FAULT if decision.proxy else ""
        return route, f"{blame}no connection within {ctx.timeout:g} s"
    except httpx.ConnectError as exc:
        text = str(exc)
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return route, f"TLS failed: {text}"
        blame = PROXY_FAULT if decision.proxy else ""
        return route, f"{blame}cannot connect: {text}"
    except httpx.TimeoutException:
        return route, f"no answer within {ctx.timeout:g} s"
    except httpx.HTTPError as exc:
        return route, f"{type(exc).__name__}: {exc}"
    if response.status_code >= 500:
        return route, f"HTTP {response.status_code}"
    return route, None


@check("live.reachable", "error", "every configured endpoint answers through its route", live=True)
def check_reachable(ctx: Context) -> list[Finding]:
    endpoints = configured(ctx)
    if not endpoints:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(endpoints))) as pool:
        results = list(pool.map(lambda e: reach(e, ctx), endpoints))
    findings = []
    dead: dict[str, list[tuple[Endpoint, str]]] = {}  # proxy URL -> endpoints it failed
    for endpoint, (route, problem) in zip(endpoints, results, strict=True):
        if problem is None:
            continue
        if problem.startswith(PROXY_FAULT):
            dead.setdefault(route.removeprefix("proxy "), []).append(
                (endpoint, problem.removeprefix(PROXY_FAULT))
            )
            continue
        findings.append(
            Finding(
                "live.reachable",
                "error",
                f"the {endpoint.client} endpoint {endpoint.host} does not answer ({route})",
                (f"{endpoint.client}: {probe_url(endpoint)} (from {endpoint.source})", problem),
                "pick a mirror that answers: kuaidi probe, then kuaidi probe --apply",
            )
        )
    for proxy, failed in dead.items():
        clients = ", ".join(dict.fromkeys(e.client for e, _ in failed))
        findings.append(
            Finding(
                "live.reachable",
                "error",
                f"the proxy {proxy} does not answer: every request through it fails ({clients})",
                (
                    *(f"{e.client}: {probe_url(e)} via {proxy}" for e, _ in failed),
                    failed[0][1],
                ),
                "fix or replace the proxy, or turn it off in this shell: turbo_off (or unset "
                "http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY)",
            )
        )
    return findings
