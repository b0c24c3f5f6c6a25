"""What counts as a proxy URL, for every place one comes from (flags, env, network_turbo).

>>> proxy_url("10.0.0.1:12798"), proxy_url("socks5://h:1080"), proxy_url("not a url")
('http://10.0.0.1:12798', 'socks5://h:1080', None)
"""

from __future__ import annotations

from kuaidi.net.urls import PROXY, url_problem

SCHEMES = PROXY


def with_scheme(value: str) -> str:
    """``value`` stripped, ``http://`` added when it has no scheme (``host:port`` style)."""
    value = value.strip()
    return value if "://" in value else f"http://{value}"


def proxy_problem(value: str) -> str | None:
    """Why ``value`` is not a proxy URL (unknown scheme, no host, no or bad port …), or None."""
    return url_problem(with_scheme(value), SCHEMES, need_port=True)


def proxy_url(value: str) -> str | None:
    """``value`` as ``scheme://host:port`` (``http://`` added when missing), or None if it is
    not one (unknown scheme, no host, no or bad port, not parseable at all)."""
    return None if proxy_problem(value) is not None else with_scheme(value)
