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

from kuaidi.errors import ConfigError
from kuaidi.setup.options import Context
from kuaidi.setup.parsers import parse_pip, pip_values, refuse

# configparser's own section rule (so `[ global ]` is the section " global ", as pip sees it)
_SECTION = configparser.RawConfigParser.SECTCRE


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
    for path in targets(ctx):
        try:
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            match = _SECTION.match(line.strip())
            name = match.group("header") if match else None
            if name is not None and name != "global" and name.strip().lower() == "global":
                found.append(
                    f"{path}:{number}: pip ignores the section [{name}] (it is not [global]); "
                    "kuaidi adds a real [global]"
                )
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
    before: dict[tuple[str, str], str] = {}
    if old is not None:
        current = parse_pip(path, old)
        before = pip_values(current)
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
    # Read the result as pip will: kuaidi's keys took, and every other setting is as it was.
    try:
        after = pip_values(parse_pip(path, text))
    except ConfigError as exc:
        raise refuse(path, None, f"kuaidi's edit would not parse ({exc.message})") from exc
    ours = {("global", k) for k in wanted} | {("global", k.replace("-", "_")) for k in wanted}
    if any(_get_from(after, k) != v for k, v in wanted.items()) or {
        k: v for k, v in after.items() if k not in ours
    } != {k: v for k, v in before.items() if k not in ours}:
        raise refuse(
            path,
            None,
            "kuaidi cannot set [global] index-url here without changing "
            "other settings (an indented or continued line?)",
        )
    return text


def _get_from(values: dict[tuple[str, str], str], key: str) -> str | None:
    for spelling in (key, key.replace("-", "_")):
        if ("global", spelling) in values:
            return values[("global", spelling)]
    return None


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
        # an indented line right after a value continues that value: not a key of its own
        after_value = lines[i - 1].strip() and not lines[i - 1].lstrip().startswith(("#", ";"))
        if key_re.match(lines[i]) and not (lines[i][:1] in " \t" and i > start + 1 and after_value):
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
        if line[:1] in " \t":  # an indented line continues a value in configparser
            continue
        match = _SECTION.match(line.strip())
        if not match:
            continue
        if start is not None:
            return start, i
        if match.group("header") == section:
            start = i
    return start, len(lines)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
