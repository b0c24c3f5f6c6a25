"""What counts as a proxy URL, for every place one comes from (flags, env, network_turbo).

>>> proxy_url("10.0.0.1:12798"), proxy_url("socks5://h:1080"), proxy_url("not a url")
('http://10.0.0.1:12798', 'socks5://h:1080', None)
"""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("http", "https", "socks5", "socks5h")


def proxy_url(value: str) -> str | None:
    """``value`` as ``scheme://host:port`` (``http://`` added when missing), or None if it is
    not one (unknown scheme, no host, no or bad port)."""
    url = value.strip() if "://" in value else f"http://{value.strip()}"
    try:
        parts = urlsplit(url)  # raises on an unclosed IPv6 bracket ("http://[::1")
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in SCHEMES or not parts.hostname or not port:
        return None
    return url
