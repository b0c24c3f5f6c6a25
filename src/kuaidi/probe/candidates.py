"""Probe candidates: catalog mirrors by default, or explicit ``name=URL`` pairs (tests, LAN
mirrors, anything the catalog lacks)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from kuaidi.errors import KuaidiError
from kuaidi.mirrors import catalog

TARGETS: tuple[str, ...] = ("pypi", "conda", "hf", "modelscope")
# The job name a mirror's tunasync / mirrorz feed uses for each target.
STATUS_NAMES = {
    "pypi": "pypi",
    "conda": "anaconda",
    "hf": "huggingface",
    "modelscope": "modelscope",
}


@dataclass(frozen=True)
class Candidate:
    """One mirror to measure for one target."""

    name: str
    kind: str  # pypi | conda | hf | modelscope
    url: str  # PyPI: the simple index; conda: the anaconda base; hf / modelscope: the endpoint
    status_url: str | None = None
    status_format: str | None = None  # tunasync | mirrorz
    status_name: str | None = None
    catalog: bool = False  # True: a catalog entry (``--apply`` writes its name)

    @property
    def host(self) -> str:
        parts = urlsplit(self.url)
        return parts.netloc or parts.path


def from_catalog(kind: str) -> list[Candidate]:
    """Every catalog mirror of ``kind``, with its freshness feed."""
    return [
        Candidate(
            m.name,
            kind,
            m.url,
            m.status_url,
            m.status_format,
            m.status_name or STATUS_NAMES[kind],
            catalog=True,
        )
        for m in catalog(kind)
    ]


def parse_candidate(text: str, kind: str) -> Candidate:
    """``name=URL`` (or a bare URL, named after its host) as a candidate of ``kind``.

    Without a catalog feed the tunasync convention ``<site>/static/tunasync.json`` is tried; a
    mirror that does not publish one simply has no freshness feed.

        >>> parse_candidate("lan=http://10.0.0.5:3141/simple", "pypi").host
        '10.0.0.5:3141'
    """
    name, sep, url = text.partition("=")
    if not sep:
        name, url = "", text
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise KuaidiError(
            f"candidate {text!r} is not name=URL with an http(s) URL",
            fix="write it like --candidate tuna=https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple",
        )
    site = f"{parts.scheme}://{parts.netloc}"
    return Candidate(
        name.strip() or parts.netloc,
        kind,
        url,
        f"{site}/static/tunasync.json",
        "tunasync",
        STATUS_NAMES[kind],
    )
