"""uv: the default ``[[index]]`` and ``python-install-mirror`` in the user's uv.toml (tomlkit
round-trip, so the user's other settings, comments and order stay as they were).

uv ignores pip.conf and ``PIP_INDEX_URL``, so it needs its own file (mirrors-and-config.md §3).
"""

from __future__ import annotations

from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from kuaidi.errors import ConfigError
from kuaidi.setup.options import Context
from kuaidi.setup.parsers import line_of, parse_uv, refuse


def targets(ctx: Context) -> list[Path]:
    """``$UV_CONFIG_FILE`` if set, else ``$XDG_CONFIG_HOME/uv/uv.toml``."""
    forced = ctx.environ.get("UV_CONFIG_FILE")
    return [Path(forced).expanduser() if forced else ctx.config_home / "uv" / "uv.toml"]


def warnings(ctx: Context) -> list[str]:
    """Environment variables that beat the file."""
    found = []
    for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_PYTHON_INSTALL_MIRROR"):
        if ctx.environ.get(var):
            found.append(f"{var} is set in this shell and overrides uv.toml; unset it")
    return found


def render(ctx: Context, path: Path, old: str | None) -> str:
    """``old`` with the default index and python mirror set; ``old`` itself when already so."""
    source = old or ""
    if source and not source.endswith("\n"):
        # tomlkit's round trip of a last table without a newline does not parse (issue 11)
        source += "\n"
    before = parse_uv(path, source)  # what uv reads: refuse what it would refuse
    try:
        doc = tomlkit.parse(source)
    except TOMLKitError as exc:
        raise refuse(path, getattr(exc, "line", None), f"not valid TOML: {exc}") from exc
    changed = False
    if doc.get("python-install-mirror") != ctx.python.url:
        # tomlkit places a new bare key before the first table, where TOML needs it.
        doc["python-install-mirror"] = ctx.python.url
        changed = True
    changed |= _set_default_index(doc, ctx.pypi.url, path, source)
    if not changed and old is not None:
        return old
    text = tomlkit.dumps(doc)
    _verify(path, text, before, ctx)  # never hand uv a file it cannot read
    return text


def default_index(data: dict) -> str | None:
    """The URL uv uses as its default index in a parsed uv.toml, if one is set."""
    for entry in data.get("index") or []:
        if isinstance(entry, dict) and entry.get("default") is True:
            return entry.get("url")
    return data.get("index-url")


def _verify(path: Path, text: str, before: dict, ctx: Context) -> None:
    try:
        after = parse_uv(path, text)
    except ConfigError as exc:
        raise refuse(path, None, f"kuaidi's edit would not parse ({exc.message})") from exc
    ours = ("python-install-mirror", "index", "index-url")
    same = {k: v for k, v in after.items() if k not in ours} == {
        k: v for k, v in before.items() if k not in ours
    }
    took = after.get("python-install-mirror") == ctx.python.url and default_index(after) == (
        ctx.pypi.url
    )
    if not (same and took):
        raise refuse(
            path, None, "kuaidi cannot set the default index here without changing other settings"
        )


def _set_default_index(doc: tomlkit.TOMLDocument, url: str, path: Path, text: str) -> bool:
    if "index-url" in doc:  # the older pip-style spelling: edit it rather than add a rival
        if doc["index-url"] == url:
            return False
        doc["index-url"] = url
        return True
    indexes = doc.get("index")
    if indexes is None:
        aot = tomlkit.aot()
        aot.append(_index_table(url))
        doc.append("index", aot)
        return True
    if not isinstance(indexes, list) or not all(isinstance(t, dict) for t in indexes):
        raise refuse(
            path,
            line_of(text, r"^\s*(\[\[?\s*)?index\b"),
            "'index' must be an array of tables ([[index]] with url = …)",
        )
    for table in indexes:
        if table.get("default") is True:
            if table.get("url") == url:
                return False
            table["url"] = url
            return True
    if isinstance(indexes, tomlkit.items.Array):  # written inline: index = [{ url = … }]
        entry = tomlkit.inline_table()
        entry.update({"url": url, "default": True})
        indexes.append(entry)
    else:
        indexes.append(_index_table(url))
    return True


def _index_table(url: str) -> tomlkit.items.Table:
    table = tomlkit.table()
    table.add("url", url)
    table.add("default", True)
    return table
