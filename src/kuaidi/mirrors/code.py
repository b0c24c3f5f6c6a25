"""The code part of the catalog (``[code]`` and ``[[release_mirror]]`` in catalog.toml).

>>> "github.com" in code_catalog().origin_hosts
True
>>> release_mirror_for("indygreg", "python-build-standalone").name
'nju'
>>> is_third_party_proxy("mirror.ghproxy.com")
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import tomlkit

from kuaidi.errors import UsageError


@dataclass(frozen=True)
class ReleaseMirror:
    """A mirror re-hosting the GitHub releases of ``projects`` (empty: any, a user's URL)."""

    name: str
    url: str
    layout: str = "{owner}/{repo}/{tag}/{asset}"
    display: str = ""
    no_proxy: str = ""
    default: bool = False
    projects: tuple[str, ...] = ()
    note: str = ""

    def lists(self, owner: str, repo: str) -> bool:
        """True when this mirror carries ``owner/repo`` (a custom URL: assumed, then checked)."""
        if self.name == "custom":
            return True
        return f"{owner}/{repo}".lower() in {p.lower() for p in self.projects}

    def asset_url(self, owner: str, repo: str, tag: str, asset: str) -> str:
        path = self.layout.format(owner=owner, repo=repo, tag=tag, asset=asset)
        return f"{self.url.rstrip('/')}/{path}"


@dataclass(frozen=True)
class CodeCatalog:
    origin_hosts: tuple[str, ...]
    git_proxy_urls: tuple[str, ...]
    third_party_proxies: tuple[str, ...]
    release_mirrors: tuple[ReleaseMirror, ...]


@functools.cache
def code_catalog() -> CodeCatalog:
    """The ``[code]`` table and the release mirrors, parsed once."""
    text = resources.files("kuaidi.mirrors").joinpath("catalog.toml").read_text("utf-8")
    doc = tomlkit.parse(text).unwrap()
    code = doc.get("code", {})
    mirrors = tuple(
        ReleaseMirror(**{**m, "projects": tuple(m.get("projects", ()))})
        for m in doc.get("release_mirror", [])
    )
    return CodeCatalog(
        tuple(code.get("origin_hosts", ())),
        tuple(code.get("git_proxy_urls", ())),
        tuple(code.get("third_party_proxies", ())),
        mirrors,
    )


def release_mirror_for(owner: str, repo: str) -> ReleaseMirror | None:
    """The first catalog mirror listing ``owner/repo`` (default first), or None."""
    ordered = sorted(code_catalog().release_mirrors, key=lambda m: not m.default)
    return next((m for m in ordered if m.lists(owner, repo)), None)


def find_release_mirror(value: str) -> ReleaseMirror | None:
    """``--release-mirror NAME|URL|none``: a catalog entry, a custom URL, or None for off."""
    value = value.strip()
    if value.lower() in ("none", "off", ""):
        return None
    if "://" in value:
        return ReleaseMirror(name="custom", url=value.rstrip("/"), display=value)
    for mirror in code_catalog().release_mirrors:
        if mirror.name == value.lower():
            return mirror
    names = ", ".join(m.name for m in code_catalog().release_mirrors)
    raise UsageError(
        f"unknown release mirror {value!r}", fix=f"choose one of: {names}, a URL, or none"
    )


def _suffix_match(host: str, suffixes: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == s or host.endswith("." + s) for s in suffixes)


def is_third_party_proxy(host: str) -> bool:
    """True for a host of a third-party GitHub proxy the catalog lists."""
    return _suffix_match(host, code_catalog().third_party_proxies)


def is_code_origin(host: str) -> bool:
    """True for an origin-side code host (github.com, githubusercontent.com, …)."""
    return _suffix_match(host, code_catalog().origin_hosts)


__all__ = [
    "CodeCatalog",
    "ReleaseMirror",
    "code_catalog",
    "find_release_mirror",
    "is_code_origin",
    "is_third_party_proxy",
    "release_mirror_for",
]
