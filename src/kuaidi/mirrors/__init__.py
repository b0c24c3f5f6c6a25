"""The mirror catalog: every CN mirror kuaidi can configure, as data (``catalog.toml``).

    >>> from kuaidi.mirrors import catalog, find, default
    >>> find("pypi", "tuna").url
    'https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple'
    >>> find("pypi", "http://127.0.0.1:8080/simple/").host
    '127.0.0.1'
    >>> default("hf").name
    'hf-mirror'

``kuaidi setup`` writes the URLs; ``kuaidi probe`` ranks the entries (``status_url`` is the
freshness feed); ``kuaidi.setup.no_proxy_members`` turns the chosen ones into ``no_proxy`` suffixes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Literal
from urllib.parse import urlsplit

import tomlkit

from kuaidi.errors import KuaidiError

MirrorKind = Literal["pypi", "conda", "hf", "modelscope", "python"]
KINDS: tuple[str, ...] = ("pypi", "conda", "hf", "modelscope", "python")


@dataclass(frozen=True)
class Mirror:
    """One mirror of one kind. ``url`` is exactly what kuaidi writes into a config file."""

    name: str
    kind: str
    url: str
    display: str = ""
    no_proxy: str = ""  # bare suffix that keeps this mirror off a proxy
    default: bool = False
    status_url: str | None = None
    status_format: str | None = None  # "tunasync" | "mirrorz"
    status_name: str | None = None
    note: str = ""

    @property
    def host(self) -> str:
        """The host name (no port) the URL points at."""
        return urlsplit(self.url).hostname or ""

    @property
    def custom(self) -> bool:
        """True for a URL the user gave rather than a catalog entry."""
        return self.name == "custom"


@functools.cache
def _load() -> tuple[Mirror, ...]:
    text = resources.files("kuaidi.mirrors").joinpath("catalog.toml").read_text("utf-8")
    doc = tomlkit.parse(text).unwrap()
    mirrors = tuple(Mirror(**entry) for entry in doc["mirror"])
    for kind in KINDS:
        defaults = [m for m in mirrors if m.kind == kind and m.default]
        if len(defaults) != 1:  # pragma: no cover - guards the data file
            raise RuntimeError(f"catalog.toml: kind {kind!r} needs exactly one default mirror")
    return mirrors


def catalog(kind: str | None = None) -> list[Mirror]:
    """Every catalog mirror, or only those of ``kind`` (pypi, conda, hf, modelscope, python)."""
    return [m for m in _load() if kind is None or m.kind == kind]


def default(kind: str) -> Mirror:
    """The mirror kuaidi uses for ``kind`` when the user names none."""
    _check_kind(kind)
    return next(m for m in _load() if m.kind == kind and m.default)


def find(kind: str, name_or_url: str) -> Mirror:
    """A catalog mirror by name (case-insensitive), or a custom one from a URL.

    A URL that equals a catalog URL (ignoring a trailing slash) returns that catalog entry.
    Unknown names raise :class:`KuaidiError` listing the valid ones.
    """
    _check_kind(kind)
    value = name_or_url.strip()
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https", "file") or not (parts.hostname or parts.path):
            raise KuaidiError(
                f"{kind} mirror URL {value!r} is not an http(s) URL",
                fix="give a URL like https://mirrors.example.edu.cn/pypi/web/simple",
            )
        url = value.rstrip("/")
        for mirror in catalog(kind):
            if mirror.url == url:
                return mirror
        host = parts.hostname or ""
        return Mirror(name="custom", kind=kind, url=url, display=url, no_proxy=host)
    for mirror in catalog(kind):
        if mirror.name == value.lower():
            return mirror
    names = ", ".join(m.name for m in catalog(kind))
    raise KuaidiError(f"unknown {kind} mirror {value!r}", fix=f"choose one of: {names}, or a URL")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise KuaidiError(f"unknown mirror kind {kind!r}", fix=f"choose one of: {', '.join(KINDS)}")


__all__ = ["KINDS", "Mirror", "catalog", "default", "find"]
