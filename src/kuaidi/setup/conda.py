"""conda: mirrored ``default_channels`` + ``custom_channels`` in ``.condarc`` (ruamel.yaml
round-trip, keeping the user's comments, channels and other keys).

Never written: ``channel_alias`` (unmirrored ``-c X`` would 404) and any nightly channel (mirrors
do not sync ``pytorch-nightly``) — mirrors-and-config.md §4.
"""

from __future__ import annotations

import io
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from kuaidi.errors import KuaidiError
from kuaidi.setup.options import Context

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


def wanted(ctx: Context) -> dict[str, object]:
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


def render(ctx: Context, path: Path, old: str | None) -> str:
    """``old`` with kuaidi's keys set; ``old`` itself when they already hold these values."""
    yaml = _yaml()
    try:
        data = yaml.load(old) if old and old.strip() else None
    except YAMLError as exc:
        raise KuaidiError(
            f"{path} is not valid YAML: {str(exc).splitlines()[0]}",
            fix=f"fix or move {path}, then run kuaidi setup again (nothing was written)",
        ) from exc
    # A file of only comments loads as None: keep its text above what kuaidi adds.
    preamble = old.rstrip("\n") + "\n" if data is None and old and old.strip() else ""
    if data is None:
        data = CommentedMap()
    if old and old.lstrip().startswith("---"):
        yaml.explicit_start = True
    if not isinstance(data, dict):
        raise KuaidiError(
            f"{path} is not a YAML mapping of conda settings",
            fix=f"fix or move {path}, then run kuaidi setup again (nothing was written)",
        )
    changed = False
    if "channels" not in data:
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
    if not isinstance(custom, dict):
        if custom is not None:
            raise KuaidiError(
                f"{path}: custom_channels is not a mapping",
                fix=f"fix {path}, then run kuaidi setup again (nothing was written)",
            )
        custom = data["custom_channels"] = CommentedMap()
        changed = True
    for name, url in want["custom_channels"].items():  # type: ignore[attr-defined]
        if custom.get(name) != url:
            custom[name] = url
            changed = True
    if not changed and old is not None:
        return old
    out = io.StringIO()
    yaml.dump(data, out)
    return preamble + out.getvalue()
