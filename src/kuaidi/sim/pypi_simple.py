"""The PyPI "simple" repository API as pages: PEP 503 HTML, PEP 691 JSON, content negotiation.

Pure functions from the wheel catalog to bytes; :mod:`kuaidi.sim.pypi` serves them. File URLs
are relative (``../../packages/…``) as on TUNA and pypi.org's mirrors, so a mirror mounted under
``/pypi/web/simple/`` works unchanged; HTML links carry ``#sha256=`` and JSON ``hashes``.

Example::

    >>> negotiate("application/vnd.pypi.simple.v1+json, text/html;q=0.1")
    'application/vnd.pypi.simple.v1+json'
"""

from __future__ import annotations

import html
import json

from kuaidi.sim.wheels import Wheel

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
API_VERSION = "1.1"
# Preference when the client accepts several equally: pypi.org answers HTML by default.
_SERVABLE = (TEXT_HTML, HTML_V1, JSON_V1)
# Wheels are "uploaded" at a fixed instant so pages are byte-stable.
_UPLOAD_TIME = "2024-01-01T00:00:00.000000Z"


def negotiate(accept: str | None, format_query: str | None = None) -> str | None:
    """The media type to answer with, or None when nothing acceptable can be served (406).

    ``format_query`` is pypi.org's ``?format=`` override. No ``Accept`` means ``text/html``.
    """
    if format_query:
        return format_query if format_query in _SERVABLE else None
    if not accept or not accept.strip():
        return TEXT_HTML
    offers: dict[str, float] = {}
    for item in accept.split(","):
        media, quality = _media_and_quality(item)
        for candidate in _expand(media):
            offers[candidate] = max(offers.get(candidate, 0.0), quality)
    acceptable = [m for m in _SERVABLE if offers.get(m, 0.0) > 0]
    # Highest quality wins; ties go to the server's own order (HTML first, like pypi.org).
    return max(acceptable, key=lambda m: (offers[m], -_SERVABLE.index(m)), default=None)


def _media_and_quality(item: str) -> tuple[str, float]:
    media, *params = (p.strip() for p in item.split(";"))
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return media.lower(), float(value)
            except ValueError:
                return media.lower(), 0.0
    return media.lower(), 1.0


def _expand(media: str) -> list[str]:
    if media == "*/*":
        return list(_SERVABLE)
    if media == "text/*":
        return [TEXT_HTML]
    if media == "application/*":
        return [HTML_V1, JSON_V1]
    return [media] if media in _SERVABLE else []


def _html_page(title: str, body: list[str]) -> bytes:
    head = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
    )
    return (head + "".join(f"    {line}\n" for line in body) + "  </body>\n</html>\n").encode()


def root_html(names: list[str]) -> bytes:
    """``/simple/`` as PEP 503 HTML: one anchor per project."""
    links = [f'<a href="{html.escape(n)}/">{html.escape(n)}</a>' for n in names]
    return _html_page("Simple index", links)


def root_json(names: list[str]) -> bytes:
    """``/simple/`` as PEP 691 JSON."""
    doc = {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}
    return json.dumps(doc, indent=1).encode()


def file_href(wheel: Wheel) -> str:
    """A file's URL relative to its project page (``/simple/<name>/``)."""
    return f"../../{wheel.url_path}"


def project_html(name: str, wheels: tuple[Wheel, ...], *, core_metadata: bool) -> bytes:
    """``/simple/<name>/`` as PEP 503 HTML with ``#sha256=`` and ``data-requires-python``."""
    links = []
    for wheel in wheels:
        attrs = [
            f'href="{html.escape(file_href(wheel))}#sha256={wheel.sha256}"',
            f'data-requires-python="{html.escape(wheel.requires_python)}"',
        ]
        if core_metadata:
            digest = f"sha256={wheel.metadata_sha256}"
            attrs += [f'data-dist-info-metadata="{digest}"', f'data-core-metadata="{digest}"']
        links.append(f"<a {' '.join(attrs)}>{html.escape(wheel.filename)}</a><br />")
    return _html_page(f"Links for {name}", [f"<h1>Links for {html.escape(name)}</h1>", *links])


def project_json(name: str, wheels: tuple[Wheel, ...], *, core_metadata: bool) -> bytes:
    """``/simple/<name>/`` as PEP 691 JSON (api 1.1: ``versions`` and ``size``)."""
    files = []
    for wheel in wheels:
        entry: dict[str, object] = {
            "filename": wheel.filename,
            "url": file_href(wheel),
            "hashes": {"sha256": wheel.sha256},
            "requires-python": wheel.requires_python,
            "size": wheel.size,
            "upload-time": _UPLOAD_TIME,
            "yanked": False,
        }
        if core_metadata:
            meta = {"sha256": wheel.metadata_sha256}
            entry["core-metadata"] = meta
            entry["data-dist-info-metadata"] = meta
        files.append(entry)
    versions = sorted({w.version for w in wheels}, key=lambda v: tuple(map(int, v.split("."))))
    doc = {
        "meta": {"api-version": API_VERSION},
        "name": name,
        "versions": versions,
        "files": files,
    }
    return json.dumps(doc, indent=1).encode()


CAPTIVE_PORTAL = (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>校园网认证</title></head>\n'
    "<body><h1>请登录校园网</h1><p>您尚未认证，请先登录。</p>\n"
    '<form action="/portal/login" method="post"><input name="user"><input name="pass" '
    'type="password"><button>登录</button></form></body></html>\n'
).encode()
