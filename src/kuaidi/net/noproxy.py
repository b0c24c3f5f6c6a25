"""``no_proxy`` and ``*_proxy`` variables, as each client family really reads them.

Clients disagree (mirrors-and-config.md §7): the same shell sends ``mirrors.aliyun.com`` through
the proxy for one tool and direct for another. :func:`decide` answers "which proxy, if any, does
this family use for this URL in this environment, and why", so the doctor can show it per tool::

    >>> env = {"https_proxy": "http://10.0.0.1:12798", "no_proxy": "hf-mirror.com",
    ...        "NO_PROXY": "localhost"}
    >>> effective_proxy("https://hf-mirror.com/api", env, "curl")  # curl reads no_proxy first
    >>> effective_proxy("https://hf-mirror.com/api", env, "uv")    # reqwest reads NO_PROXY first
    'http://10.0.0.1:12798'

The families (``FAMILIES``) are modelled on the code each client ships, and the tests check the
Python ones against the real libraries and ``curl`` against the real binary. ``"kuaidi"`` is
kuaidi's own rule (:class:`NoProxy`): the sane common subset every user means.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]  # not in typeshed

from kuaidi.errors import UsageError
from kuaidi.net.families import (
    ClientWouldFail,
    curl_match,
    httpx_match,
    is_ip,
    requests_match,
    uv_match,
)
from kuaidi.net.urls import redact, url_problem

Family = Literal["kuaidi", "requests", "requests-new", "httpx", "httpx2", "curl", "uv"]

FAMILIES: dict[Family, str] = {
    "kuaidi": "kuaidi itself: dot-boundary suffixes, CIDR, '*', both casings",
    "requests": "pip ≤ 25, conda, huggingface_hub 0.x (requests ≤ 2.32: raw endswith)",
    "requests-new": "pip ≥ 26 and newer requests (dot-boundary suffix match)",
    "httpx": "huggingface_hub 1.x (httpx 0.28: '*.x' matches nothing, no CIDR)",
    "httpx2": "huggingface_hub 2.x (httpx2: '*.x' = subdomains, CIDR v4/v6)",
    "curl": "curl, wget-like tools, git over https (libcurl ≥ 7.86)",
    "uv": "uv (reqwest: NO_PROXY before no_proxy, HTTPS_PROXY before https_proxy)",
}


@dataclass(frozen=True)
class Decision:
    """Where one client family sends one URL: ``proxy`` (None = direct) and the reason."""

    family: str
    url: str
    proxy: str | None
    reason: str
    error: str | None = None

    @property
    def direct(self) -> bool:
        return self.proxy is None and self.error is None


# -- variables ---------------------------------------------------------------------------------


def urllib_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """``urllib.request.getproxies_environment`` over ``environ``: lowercase wins, and an empty
    lowercase value unsets the variable whatever its uppercase twin says."""
    proxies: dict[str, str] = {}
    for name, value in environ.items():
        low = name.lower()
        if value and low.endswith("_proxy"):
            proxies[low[:-6]] = value
    for name, value in environ.items():
        if name.endswith("_proxy"):
            if value:
                proxies[name.lower()[:-6]] = value
            else:
                proxies.pop(name.lower()[:-6], None)
    return proxies


def shell_proxy_variables(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """:func:`urllib_proxies` with the variable each value came from: ``{"https": ("HTTPS_PROXY",
    "http://p:1")}`` — so an error can name the variable the user really set."""
    out: dict[str, tuple[str, str]] = {}
    for name, value in environ.items():
        low = name.lower()
        if value and low.endswith("_proxy") and name != low:
            out[low[:-6]] = (name, value)
    for name, value in environ.items():
        if name.endswith("_proxy") and name == name.lower():
            if value:
                out[name[:-6]] = (name, value)
            else:
                out.pop(name[:-6], None)
    return out


def _first(environ: Mapping[str, str], *names: str, skip_empty: bool = False) -> str | None:
    for name in names:
        value = environ.get(name)
        if value is not None and (value or not skip_empty):
            return value
    return None


def no_proxy_value(environ: Mapping[str, str], family: Family = "kuaidi") -> str:
    """The ``no_proxy`` list a family reads (for ``"kuaidi"``: both casings joined)."""
    if family == "kuaidi":
        return ",".join(v for v in (environ.get("no_proxy"), environ.get("NO_PROXY")) if v)
    if family in ("requests", "requests-new"):
        # requests' own check: ``no_proxy or NO_PROXY`` (an empty lowercase value falls through)
        return _first(environ, "no_proxy", "NO_PROXY", skip_empty=True) or ""
    if family in ("httpx", "httpx2"):
        return urllib_proxies(environ).get("no", "")
    if family == "curl":  # curl_getenv treats an empty value as unset
        return _first(environ, "no_proxy", "NO_PROXY", skip_empty=True) or ""
    if family == "uv":
        return _first(environ, "NO_PROXY", "no_proxy") or ""
    raise ValueError(f"unknown client family {family!r}; choose one of {', '.join(FAMILIES)}")


def proxy_variable(
    scheme: str, environ: Mapping[str, str], family: Family = "kuaidi"
) -> tuple[str, str] | None:
    """``(variable, proxy URL)`` a family would use for ``scheme`` (``http``/``https``), or None."""
    scheme = scheme.lower()
    if family in ("kuaidi", "requests", "requests-new", "httpx", "httpx2"):
        proxies = urllib_proxies(environ)
        for key in (scheme, "all"):
            if proxies.get(key):
                return (f"{key}_proxy", proxies[key])
        return None
    if family == "curl":
        # curl never reads HTTP_PROXY (httpoxy); empty values count as unset (curl_getenv)
        names = (
            [f"{scheme}_proxy"]
            if scheme == "http"
            else [f"{scheme}_proxy", f"{scheme}_PROXY".upper()]
        )
        for name in (*names, "all_proxy", "ALL_PROXY"):
            if environ.get(name):
                return (name, environ[name])
        return None
    if family == "uv":
        # hyper-util: the first variable *present* wins, even empty ("HTTP_PROXY=" = none);
        # ALL_PROXY/all_proxy is the fallback when the scheme's value is missing or empty
        for pair in ((f"{scheme}_proxy".upper(), f"{scheme}_proxy"), ("ALL_PROXY", "all_proxy")):
            present = next((n for n in pair if n in environ), None)
            if present is not None and environ[present]:
                return (present, environ[present])
        return None
    raise ValueError(f"unknown client family {family!r}; choose one of {', '.join(FAMILIES)}")


# -- matching ----------------------------------------------------------------------------------


def _split_entries(value: str, *, blanks: bool) -> list[str]:
    parts = re.split(r"[,\s]+" if blanks else ",", value)
    return [p.strip() for p in parts if p.strip()]


# -- kuaidi's own rule -------------------------------------------------------------------------


@dataclass(frozen=True)
class NoProxy:
    """kuaidi's ``no_proxy`` semantics — what a user means, in the subset all clients share.

    - entries split on commas or blanks, compared case-insensitively, ports ignored;
    - ``x``, ``.x`` and ``*.x`` all mean "x and every subdomain, on a dot boundary";
    - ``*`` alone (anywhere in the list) means every host;
    - IPs match exactly, CIDR blocks (v4/v6) by containment.

    >>> NoProxy.parse("localhost,.aliyun.com,10.0.0.0/8").matches("mirrors.aliyun.com")
    True
    >>> NoProxy.parse("aliyun.com").matches("xaliyun.com")
    False
    """

    suffixes: tuple[str, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    everything: bool = False

    @classmethod
    def parse(cls, value: str | Iterable[str] | None, what: str = "no_proxy") -> NoProxy:
        """Read a ``no_proxy`` value; an entry that is a malformed URL raises
        :class:`~kuaidi.errors.UsageError` naming ``what`` (the variable) and the entry."""
        if value is None:
            return cls()
        items = _split_entries(value, blanks=True) if isinstance(value, str) else list(value)
        suffixes: list[str] = []
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        everything = False
        for item in (i.strip().lower() for i in items):
            if not item:
                continue
            if item == "*":
                everything = True
                continue
            if "://" in item:
                item = _entry_host(item, what)
            bare = item.strip("[]") if item.startswith("[") and item.endswith("]") else item
            try:
                networks.append(ipaddress.ip_network(bare, strict=False))
                continue
            except ValueError:
                pass
            host = _strip_port(item)
            try:
                networks.append(ipaddress.ip_network(host.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            host = host.removeprefix("*").lstrip(".").rstrip(".")
            if host and host not in suffixes:
                suffixes.append(host)
        return cls(tuple(suffixes), tuple(networks), everything)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> NoProxy:
        """Both ``no_proxy`` and ``NO_PROXY``: an entry in either exempts the host."""
        parts = [cls.parse(environ[n], n) for n in ("no_proxy", "NO_PROXY") if environ.get(n)]
        return cls(
            tuple(dict.fromkeys(s for p in parts for s in p.suffixes)),
            tuple(dict.fromkeys(n for p in parts for n in p.networks)),
            any(p.everything for p in parts),
        )

    def matches(self, host: str) -> bool:
        """True when ``host`` (a name or an IP, no port) should bypass the proxy."""
        if self.everything:
            return True
        host = host.strip("[]").lower().rstrip(".")
        if is_ip(host):
            addr = ipaddress.ip_address(host)
            return any(addr.version == n.version and addr in n for n in self.networks)
        return any(host == s or host.endswith("." + s) for s in self.suffixes)

    def __bool__(self) -> bool:
        return bool(self.everything or self.suffixes or self.networks)

    def __str__(self) -> str:
        return ",".join(("*",) if self.everything else (*self.suffixes, *map(str, self.networks)))


def _entry_host(item: str, what: str) -> str:
    """The ``host[:port]`` of a URL-style entry (``http://x.example:8080``)."""
    reason = url_problem(item, (item.split("://", 1)[0],))
    if reason is not None:
        raise UsageError(
            f"{what} has the entry {redact(item)[:200]!r}, which is not a URL: {reason}",
            fix=f"correct {what}: comma-separated hosts, .domains, IPs or CIDR blocks",
        )
    return urlsplit(item).netloc.rpartition("@")[2]


def _strip_port(item: str) -> str:
    if item.startswith("["):
        return item[1:].split("]", 1)[0]
    if item.count(":") == 1:
        host, _, port = item.partition(":")
        if port.isdigit():
            return host
    return item


# -- decisions ---------------------------------------------------------------------------------


def bypasses(url: str, environ: Mapping[str, str], family: Family = "kuaidi") -> bool:
    """True when ``family`` sends ``url`` direct because of the no_proxy variables in ``environ``.

    Raises :class:`ClientWouldFail` when the family's client cannot even start (httpx 0.28
    with an IPv6 CIDR entry).
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = (parts.hostname or "").lower()
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default_port = {"http": 80, "https": 443}.get(scheme)
    if family == "kuaidi":
        return NoProxy.from_env(environ).matches(host)
    if family in ("requests", "requests-new"):
        own = no_proxy_value(environ, family)
        if own and requests_match(host, port, own, legacy=family == "requests"):
            return True
        # then urllib's proxy_bypass with the lowercase-wins value (the stdlib function itself)
        return bool(proxy_bypass_environment(host, urllib_proxies(environ)))
    if family in ("httpx", "httpx2"):
        value = no_proxy_value(environ, family)
        url_port = None if port == default_port else port
        return httpx_match(scheme, host, url_port, value, v2=family == "httpx2")
    if family == "curl":
        return curl_match(host, no_proxy_value(environ, family))
    if family == "uv":
        return uv_match(host, no_proxy_value(environ, family))
    raise ValueError(f"unknown client family {family!r}; choose one of {', '.join(FAMILIES)}")


def decide(url: str, environ: Mapping[str, str], family: Family = "kuaidi") -> Decision:
    """Where ``family`` sends ``url`` given ``environ``, with a one-line reason."""
    scheme = urlsplit(url).scheme.lower() or "http"
    chosen = proxy_variable(scheme, environ, family)
    if chosen is None:
        return Decision(family, url, None, f"no {scheme} proxy variable is set for {family}")
    name, proxy = chosen
    try:
        bypass = bypasses(url, environ, family)
    except ClientWouldFail as exc:
        return Decision(family, url, None, str(exc), error=str(exc))
    if bypass:
        value = no_proxy_value(environ, family)
        return Decision(family, url, None, f"direct: matched by no_proxy {value!r}")
    return Decision(family, url, proxy, f"through {name}={proxy}")


def decide_all(url: str, environ: Mapping[str, str]) -> dict[Family, Decision]:
    """:func:`decide` for every family — the doctor's "through the proxy for pip, not for uv".

    >>> env = {"https_proxy": "http://p:1", "no_proxy": ".aliyun.com"}
    >>> [f for f, d in decide_all("https://aliyun.com/", env).items() if d.proxy]
    ['httpx', 'httpx2']
    """
    return {family: decide(url, environ, family) for family in FAMILIES}


def effective_proxy(
    url: str, environ: Mapping[str, str] | None = None, family: Family = "kuaidi"
) -> str | None:
    """The proxy URL ``family`` would use for ``url`` (None = direct).

    >>> env = {"https_proxy": "http://p:1", "no_proxy": "aliyun.com"}
    >>> effective_proxy("https://xaliyun.com/", env, "requests")  # raw endswith: bypassed
    >>> effective_proxy("https://xaliyun.com/", env, "httpx")
    'http://p:1'

    Raises :class:`ClientWouldFail` when that client refuses the environment outright.
    """
    import os

    decision = decide(url, os.environ if environ is None else environ, family)
    if decision.error:
        raise ClientWouldFail(decision.error)
    return decision.proxy
