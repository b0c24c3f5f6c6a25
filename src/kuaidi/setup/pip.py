"""pip: ``index-url`` in the user's pip.conf, edited line by line so comments and keys survive.

The file is validated with configparser (pip's own reader) before and after the edit. HTTPS mirrors
get no ``trusted-host``; a plain-http mirror off loopback gets one for its host, as pip requires.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
import re
from pathlib import Path

from kuaidi.errors import KuaidiError
from kuaidi.setup.options import Context

_SECTION = re.compile(r"^\s*\[([^\]]+)\]")


def targets(ctx: Context) -> list[Path]:
    """``$PIP_CONFIG_FILE`` if set (pip then reads no user file), else the user pip.conf."""
    forced = ctx.environ.get("PIP_CONFIG_FILE")
    if forced and forced != os.devnull:
        return [Path(forced).expanduser()]
    if forced == os.devnull:
        return []
    return [ctx.config_home / "pip" / "pip.conf"]


def warnings(ctx: Context) -> list[str]:
    """What will still override or shadow the file kuaidi writes."""
    found = []
    if ctx.environ.get("PIP_CONFIG_FILE") == os.devnull:
        found.append("PIP_CONFIG_FILE=/dev/null disables every pip config file: pip not configured")
    elif ctx.environ.get("PIP_CONFIG_FILE"):
        found.append(f"PIP_CONFIG_FILE is set: writing {ctx.environ['PIP_CONFIG_FILE']}")
    if ctx.environ.get("PIP_INDEX_URL"):
        found.append("PIP_INDEX_URL is set in this shell and overrides pip.conf; unset it")
    legacy = ctx.home / ".pip" / "pip.conf"
    if legacy.is_file():
        found.append(f"{legacy} (legacy) is overridden by ~/.config/pip/pip.conf for index-url")
    for site in site_files(ctx):
        try:
            text = site.read_text("utf-8", errors="replace")
        except OSError:
            continue
        if re.search(r"^\s*index[-_]url\s*[=:]", text, re.MULTILINE | re.IGNORECASE):
            found.append(
                f"{site} sets index-url and beats the user pip.conf for that Python; "
                f"remove the line there (kuaidi leaves site files alone)"
            )
    return found


# Conda prefixes the platforms ship (platforms.md §2): their pip.conf is pip's *site* file, which
# overrides the user file whenever that Python runs pip.
_SITE_PREFIXES = ("/root/miniconda3", "/opt/conda", "/environment/miniconda3", "/usr/local")


def site_files(ctx: Context) -> list[Path]:
    """Site-level pip.conf files (under the detection root) that would beat the user file."""
    root = ctx.platform.root
    return [root / prefix.lstrip("/") / "pip.conf" for prefix in _SITE_PREFIXES]


def settings(ctx: Context) -> dict[str, str]:
    """The ``[global]`` keys kuaidi owns."""
    wanted = {"index-url": ctx.pypi.url}
    url = ctx.pypi.url
    if url.startswith("http://") and not _is_loopback(ctx.pypi.host):
        wanted["trusted-host"] = ctx.pypi.host
    return wanted


def render(ctx: Context, path: Path, old: str | None) -> str:
    """``old`` with kuaidi's ``[global]`` keys set; ``old`` itself when nothing changes."""
    wanted = settings(ctx)
    if old is not None:
        current = _parse(path, old)
        hosts = (_get(current, "trusted-host") or "").split()
        if "trusted-host" in wanted and hosts:  # add to the user's hosts, never drop them
            if wanted["trusted-host"] in hosts:
                del wanted["trusted-host"]
            else:
                wanted["trusted-host"] = " ".join([*hosts, wanted["trusted-host"]])
        if all(_get(current, key) == value for key, value in wanted.items()):
            return old
    text = old or ""
    for key, value in wanted.items():
        text = _set_key(text, "global", key, value)
    parsed = _parse(path, text)
    assert all(_get(parsed, k) == v for k, v in wanted.items()), "pip.conf edit did not take"
    return text


def _parse(path: Path, text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise KuaidiError(
            f"{path} is not a valid pip config file: {first}",
            fix=f"fix or move {path}, then run kuaidi setup again (nothing was written)",
        ) from exc
    return parser


def _get(parser: configparser.RawConfigParser, key: str) -> str | None:
    for spelling in (key, key.replace("-", "_")):
        if parser.has_option("global", spelling):
            return parser.get("global", spelling)
    return None


def _set_key(text: str, section: str, key: str, value: str) -> str:
    """Set ``key = value`` in ``[section]`` touching only that key's line(s)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    key_re = re.compile(rf"^\s*{key.replace('-', '[-_]')}\s*[=:]", re.IGNORECASE)
    start, end = _section_range(lines, section)
    new_line = f"{key} = {value}\n"
    if start is None:
        prefix = "\n" if lines and lines[-1].strip() else ""
        return "".join(lines) + f"{prefix}[{section}]\n{new_line}"
    for i in range(start + 1, end):
        if key_re.match(lines[i]):
            stop = i + 1  # drop continuation lines of a multi-line value
            while stop < end and lines[stop].strip() and lines[stop][0] in " \t":
                stop += 1
            lines[i:stop] = [new_line]
            return "".join(lines)
    insert_at = start + 1
    for i in range(start + 1, end):
        if lines[i].strip():
            insert_at = i + 1
    lines.insert(insert_at, new_line)
    return "".join(lines)


def _section_range(lines: list[str], section: str) -> tuple[int | None, int]:
    start = None
    for i, line in enumerate(lines):
        match = _SECTION.match(line)
        if not match:
            continue
        if start is not None:
            return start, i
        if match.group(1).strip() == section:
            start = i
    return start, len(lines)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
