"""conda: mirrored ``default_channels`` + ``custom_channels`` in ``.condarc`` (ruamel.yaml
round-trip, keeping the user's comments, channels and other keys).

Never written: ``channel_alias`` (unmirrored ``-c X`` would 404) and any nightly channel (mirrors
do not sync ``pytorch-nightly``) — mirrors-and-config.md §4.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from kuaidi.errors import ConfigError
from kuaidi.setup.options import Context
from kuaidi.setup.parsers import parse_conda, refuse, yaml_refusal

DEFAULT_SUBDIRS = ("main", "r", "msys2")
# Third-party channels every CN anaconda mirror carries under <base>/cloud. Not the nightlies.
CUSTOM_CHANNELS = ("conda-forge", "pytorch")
NEVER_MAPPED = ("pytorch-nightly", "pytorch-nightly-cpu", "ignite-nightly")


def targets(ctx: Context) -> list[Path]:
    """``$CONDARC`` if set, else ``~/.condarc``."""
    forced = ctx.environ.get("CONDARC")
    return [Path(forced).expanduser() if forced else ctx.home / ".condarc"]


def warnings(ctx: Context) -> list[str]:
    """Notes on what to do after writing."""
    return ["after a conda mirror change run `conda clean -i` to drop cached channel indexes"]


class CondaKeys(TypedDict):
    """The .condarc keys kuaidi owns, with the values it writes."""

    show_channel_urls: bool
    default_channels: list[str]
    custom_channels: dict[str, str]


def wanted(ctx: Context) -> CondaKeys:
    """The keys kuaidi owns, as plain data."""
    base = ctx.conda.url
    return {
        "show_channel_urls": True,
        "default_channels": [f"{base}/pkgs/{sub}" for sub in DEFAULT_SUBDIRS],
        "custom_channels": {name: f"{base}/cloud" for name in CUSTOM_CHANNELS},
    }


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def _check_types(path: Path, data: Mapping[str, Any]) -> None:
    """Refuse (naming the line) a key kuaidi edits that holds the wrong kind of value."""
    kinds = {"channels": list, "default_channels": list, "custom_channels": dict}
    for key, kind in kinds.items():
        value = data.get(key)
        if value is None or isinstance(value, kind):
            continue
        try:
            lc: Any = getattr(data, "lc", None)  # a CommentedMap's line info; a dict has none
            line = lc.key(key)[0] + 1
        except (AttributeError, KeyError, TypeError):
            line = None
        noun = "a list" if kind is list else "a mapping"
        seen = (
            "a list"
            if isinstance(value, list)
            else "a mapping"
            if isinstance(value, dict)
            else (f"{type(value).__name__} {value!r}")
        )
        raise refuse(path, line, f"{key} must be {noun}, not {seen}")


def render(ctx: Context, path: Path, old: str | None) -> str:
    """``old`` with kuaidi's keys set; ``old`` itself when they already hold these values."""
    yaml = _yaml()
    try:
        data = yaml.load(old) if old and old.strip() else None
    except YAMLError as exc:
        raise yaml_refusal(path, exc) from exc
    except (ValueError, TypeError, AttributeError) as exc:  # ruamel on odd tags / keys
        raise refuse(path, None, f"not YAML conda can read: {type(exc).__name__}: {exc}") from exc
    preamble = ""
    if data is None and old and old.strip():
        # An empty document (only comments, or ``~`` / ``null`` / ``---``): keep its comments
        # above what kuaidi adds, but not its null scalar, which would make the file invalid.
        comments = [ln for ln in old.splitlines() if ln.lstrip().startswith("#")]
        head = "---\n" if old.lstrip().startswith("---") else ""
        preamble = head + "".join(ln + "\n" for ln in comments)
    elif old and old.lstrip().startswith("---"):
        yaml.explicit_start = True
    if data is None:
        data = CommentedMap()
    if not isinstance(data, dict):
        raise refuse(path, 1, "not a YAML mapping of conda settings")
    _check_types(path, data)
    changed = False
    if "channels" not in data or data["channels"] is None:
        data["channels"] = CommentedSeq(["defaults"])
        changed = True
    want = wanted(ctx)
    if data.get("show_channel_urls") is not True:
        data["show_channel_urls"] = True
        changed = True
    if list(data.get("default_channels") or []) != want["default_channels"]:
        data["default_channels"] = CommentedSeq(want["default_channels"])
        changed = True
    custom = data.get("custom_channels")
    if custom is None:
        custom = data["custom_channels"] = CommentedMap()
        changed = True
    for name, url in want["custom_channels"].items():
        if custom.get(name) != url:
            custom[name] = url
            changed = True
    if not changed and old is not None:
        return old
    out = io.StringIO()
    try:
        yaml.dump(data, out)
    except (YAMLError, ValueError, TypeError, AttributeError) as exc:
        raise refuse(path, None, f"kuaidi cannot rewrite this YAML: {exc}") from exc
    text = preamble + out.getvalue()
    _verify(path, text, want)
    return text


def _verify(path: Path, text: str, want: CondaKeys) -> None:
    """The new file, read as conda reads it, holds kuaidi's keys (else refuse, writing nothing)."""
    try:
        data = parse_conda(path, text)
    except ConfigError as exc:
        raise refuse(
            path, None, f"kuaidi's edit would not parse ({exc.message}); please report this file"
        ) from exc
    ok = isinstance(data, dict) and isinstance(data.get("channels"), list)
    custom = data.get("custom_channels") if ok else None
    ok = (
        ok
        and isinstance(custom, dict)
        and all(custom.get(k) == v for k, v in want["custom_channels"].items())
    )
    if (
        not ok
        or data.get("show_channel_urls") != want["show_channel_urls"]
        or data.get("default_channels") != want["default_channels"]
    ):
        raise refuse(path, None, "kuaidi's edit did not take (an anchor or merge key?)")
