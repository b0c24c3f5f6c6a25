"""uv: the default ``[[index]]`` and ``python-install-mirror`` in the user's uv.toml (tomlkit
round-trip, so the user's other settings, comments and order stay as they were).

uv ignores pip.conf and ``PIP_INDEX_URL``, so it needs its own file (mirrors-and-config.md §3).
"""

from __future__ import annotations

from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from kuaidi.errors import KuaidiError
from kuaidi.setup.options import Context


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
    try:
        doc = tomlkit.parse(old or "")
    except TOMLKitError as exc:
        raise KuaidiError(
            f"{path} is not valid TOML: {exc}",
            fix=f"fix or move {path}, then run kuaidi setup again (nothing was written)",
        ) from exc
    changed = False
    if doc.get("python-install-mirror") != ctx.python.url:
        # tomlkit places a new bare key before the first table, where TOML needs it.
        doc["python-install-mirror"] = ctx.python.url
        changed = True
    changed |= _set_default_index(doc, ctx.pypi.url, path)
    if not changed and old is not None:
        return old
    text = tomlkit.dumps(doc)
    tomlkit.parse(text)  # never hand uv a file it cannot read
    return text


def _set_default_index(doc: tomlkit.TOMLDocument, url: str, path: Path) -> bool:
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
    if not isinstance(indexes, list):
        raise KuaidiError(
            f"{path}: 'index' must be an array of tables ([[index]])",
            fix=f"fix {path}, then run kuaidi setup again (nothing was written)",
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
