"""How each client family matches a host against its ``no_proxy`` list (used by noproxy.py).

Each function mirrors the code the client ships — requests ``should_bypass_proxies``, httpx /
httpx2 ``get_environment_proxies`` + ``URLPattern``, libcurl ``Curl_check_noproxy``, reqwest
``NoProxy`` — quirks included, because the point is to predict what the tool will really do.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import struct
from typing import Literal, TypeAlias

# How one no_proxy host entry matches: a name rule ``(kind, name)`` or an IP network (httpx2 CIDR).
MatchKind: TypeAlias = Literal["any", "exact", "sub", "apex+sub"]
HostMatcher: TypeAlias = tuple[MatchKind, str] | ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientWouldFail(ValueError):
    """The family's client refuses to start with this environment (httpx 0.28, IPv6 CIDR)."""


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _inet_aton(text: str) -> int | None:
    try:
        return struct.unpack("!I", socket.inet_aton(text))[0]
    except (OSError, ValueError):
        return None


def requests_match(host: str, port: int | None, value: str, *, legacy: bool) -> bool:
    entries = [e for e in value.replace(" ", "").split(",") if e]
    if _inet_aton(host) is not None:
        for entry in entries:
            if "/" in entry:
                net, _, bits = entry.partition("/")
                addr = _inet_aton(net)
                if (
                    bits.isdigit()
                    and 1 <= int(bits) <= 32
                    and addr is not None
                    and net.count(".") == 3
                ):
                    mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
                    if (_inet_aton(host) or 0) & mask == addr & mask:
                        return True
            elif host == entry:
                return True
    else:
        with_port = f"{host}:{port}" if port else host
        for entry in entries:
            if legacy:  # requests ≤ 2.32: the entry as written, raw endswith, no dot boundary
                if host.endswith(entry) or with_port.endswith(entry):
                    return True
                continue
            entry = entry.lstrip(".")
            if host == entry or with_port == entry:
                return True
            if host.endswith("." + entry) or with_port.endswith("." + entry):
                return True
    return False


def httpx_patterns(value: str, *, v2: bool) -> list[tuple[str, HostMatcher, int | None]] | None:
    """httpx's no_proxy → URL patterns ``(scheme, host matcher, port)``; None means ``*``."""
    patterns: list[tuple[str, HostMatcher, int | None]] = []
    for raw in (h.strip() for h in value.split(",")):
        if raw == "*":
            return None
        if not raw:
            continue
        scheme, rest = ("", raw)
        if "://" in raw:
            scheme, _, rest = raw.partition("://")
            scheme = "" if scheme == "all" else scheme.lower()
        elif "/" in raw and v2 and not is_ip(raw.split("/")[0]):
            continue  # httpx2 drops non-IP entries with a path
        head = rest.split("/")[0]
        if is_ip(head.strip("[]")) and "://" not in raw:
            ip = head.strip("[]")
            if ":" in ip and not v2 and ("/" in rest or raw.startswith("[")):
                raise ClientWouldFail(f"httpx 0.28 cannot parse the no_proxy entry {raw!r}")
            if v2 and "/" in rest:
                with contextlib.suppress(ValueError):
                    patterns.append(("", ipaddress.ip_network(rest, strict=False), None))
                continue
            patterns.append(("", ("exact", ip.lower()), None))
            continue
        host, port = head, None
        if re.fullmatch(r".+:\d+", head) and not head.endswith("]"):
            host, _, digits = head.rpartition(":")
            port = int(digits)
        host = host.lower()
        matcher: HostMatcher
        if "://" in raw:
            matcher = _host_matcher(host)
        elif host == "localhost":
            matcher = ("exact", host)
        elif v2 and host.startswith("*."):
            matcher = ("sub", host[2:])
        else:
            matcher = _host_matcher("*" + host)
        patterns.append((scheme, matcher, port))
    return patterns


def _host_matcher(host: str) -> tuple[MatchKind, str]:
    if host in ("", "*"):
        return ("any", "")
    if host.startswith("*."):
        return ("sub", host[2:])
    if host.startswith("*"):
        return ("apex+sub", host[1:])
    return ("exact", host)


def httpx_match(scheme: str, host: str, port: int | None, value: str, *, v2: bool) -> bool:
    patterns = httpx_patterns(value, v2=v2)
    if patterns is None:
        return True
    for p_scheme, matcher, p_port in patterns:
        if p_scheme and p_scheme != scheme:
            continue
        if p_port is not None and p_port != port:
            continue
        if isinstance(matcher, ipaddress.IPv4Network | ipaddress.IPv6Network):
            if is_ip(host) and ipaddress.ip_address(host) in matcher:
                return True
            continue
        kind, name = matcher
        if (
            kind == "any"
            or (kind == "exact" and host == name)
            or (kind == "sub" and host.endswith("." + name) and len(host) > len(name) + 1)
            or (kind == "apex+sub" and (host == name or host.endswith("." + name)))
        ):
            return True
    return False


def curl_match(host: str, value: str) -> bool:
    """libcurl ``Curl_check_noproxy`` (7.86+): label-boundary tail match, CIDR, lone ``*``."""
    if not value:
        return False
    if value == "*":
        return True
    host = host.strip("[]")
    host_is_ip = is_ip(host)
    if not host_is_ip:
        host = host.rstrip(".")
    tokens = [t for t in re.split(r"[,\s]+", value) if t]  # commas or blanks separate
    for token in tokens:
        if host_is_ip:
            net, _, bits = token.partition("/")
            try:
                addr = ipaddress.ip_address(host)
                width = addr.max_prefixlen
                prefix = int(bits) if bits.isdigit() and 0 < int(bits) <= width else width
                if addr in ipaddress.ip_network(f"{net}/{prefix}", strict=False):
                    return True
            except ValueError:
                continue
        else:
            token = token.rstrip(".")
            token = token[1:] if token.startswith(".") else token
            if token and (
                host.lower() == token.lower() or host.lower().endswith("." + token.lower())
            ):
                return True
    return False


def uv_match(host: str, value: str) -> bool:
    """reqwest ``NoProxy``: IPs/networks, and domains matched apex + subdomains (any case)."""
    if not value:
        return False
    host = host.strip("[]").lower()
    for part in (p.strip().lower() for p in value.split(",")):
        if not part:
            continue
        if is_ip(host):
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(part, strict=False):
                    return True
            except ValueError:
                continue
        elif (
            part == "*"
            or part in (host, "." + host)
            or (host.endswith(part) and (part.startswith(".") or host[-len(part) - 1] == "."))
        ):
            return True
    return False
