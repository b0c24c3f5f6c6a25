"""The endpoints this box is configured to use: pip, uv, conda, HF and ModelScope.

The proxy, turbo and live checks all ask the same question of each one ("which route does it
take?"), so they share this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from kuaidi.doctor.context import Context

# Hosts that are the origin, not a mirror: going through a proxy is what the user wants for them.
ORIGIN_SUFFIXES = (
    "pypi.org",
    "pythonhosted.org",
    "huggingface.co",
    "hf.co",
    "anaconda.org",
    "anaconda.com",
)


@dataclass(frozen=True)
class Endpoint:
    """One configured URL: which tool uses it (``client``), the URL and where it was set."""

    client: str  # pip | uv | conda | hf | modelscope
    url: str
    source: str

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def domestic(self) -> bool:
        """A mirror (or any non-origin host): it should never go through a platform proxy."""
        host = self.host
        return bool(host) and not any(host == s or host.endswith("." + s) for s in ORIGIN_SUFFIXES)


def conda_channel_urls(ctx: Context) -> list[tuple[str, str]]:
    """(URL, file) for every mirrored conda channel: ``default_channels``, ``custom_channels``,
    URL entries of ``channels`` and ``channel_alias``."""
    found: list[tuple[str, str]] = []
    for path, data in ctx.condarc_files:
        values: list[object] = []
        for key in ("default_channels", "channels"):
            if isinstance(data.get(key), list):
                values += data[key]
        if isinstance(data.get("custom_channels"), dict):
            values += list(data["custom_channels"].values())
        if data.get("channel_alias"):
            values.append(data["channel_alias"])
        for value in values:
            if isinstance(value, str) and "://" in value:
                found.append((value.rstrip("/"), str(path)))
    return found


def configured(ctx: Context) -> list[Endpoint]:
    """Every endpoint in use, one per (client, host), in a stable order."""
    found: list[Endpoint] = []
    pip = ctx.pip_index()
    found.append(Endpoint("pip", pip.value, pip.source))
    uv = ctx.uv_index()
    found.append(Endpoint("uv", uv.value, uv.source))
    for url, source in conda_channel_urls(ctx):
        found.append(Endpoint("conda", url, source))
    if ctx.env("HF_ENDPOINT"):
        found.append(Endpoint("hf", ctx.environ["HF_ENDPOINT"], "$HF_ENDPOINT"))
    if ctx.env("MODELSCOPE_DOMAIN"):
        domain = ctx.environ["MODELSCOPE_DOMAIN"]
        url = domain if "://" in domain else f"https://{domain}"
        found.append(Endpoint("modelscope", url, "$MODELSCOPE_DOMAIN"))
    elif ctx.env("MODELSCOPE_ENDPOINT"):
        found.append(
            Endpoint("modelscope", ctx.environ["MODELSCOPE_ENDPOINT"], "$MODELSCOPE_ENDPOINT")
        )
    seen: set[tuple[str, str]] = set()
    unique = []
    for endpoint in found:
        key = (endpoint.client, endpoint.host)
        if endpoint.host and key not in seen:
            seen.add(key)
            unique.append(endpoint)
    return unique
