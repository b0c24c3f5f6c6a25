"""Where huggingface_hub keeps its files, resolved from a given environment.

One home for the rule of ``huggingface_hub.constants``: ``HF_HUB_CACHE`` (or the older
``HUGGINGFACE_HUB_CACHE``) > ``$HF_HOME/hub`` > ``$XDG_CACHE_HOME/huggingface/hub`` >
``~/.cache/huggingface/hub``. The environment is a parameter, not ``os.environ``: doctor and
setup resolve the paths of a *target* shell, ``get`` those of the running process. An empty
variable counts as unset (a shell's ``export HF_HOME=`` is a mistake, not the current directory).

The ``*_text`` forms give the exact strings hub computes (``os.path.join``, no normalising):
hubrepair compares them with hub's frozen constants.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

_VAR = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value else None


def _home(home: Path | None) -> str:
    return str(home) if home is not None else os.path.expanduser("~")


def expand(value: str, environ: Mapping[str, str], home: Path | None = None) -> str:
    """``$VAR`` and ``~`` expanded as hub does (``expandvars(expanduser(v))``), from
    ``environ`` and ``home`` rather than the running process."""
    if value == "~" or value.startswith("~/"):
        value = _home(home) + value[1:]
    elif value.startswith("~"):
        value = os.path.expanduser(value)  # ~user: the passwd database, as hub reads it

    def var(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return environ.get(name, m.group(0))

    return _VAR.sub(var, value) if "$" in value else value


def cache_home_text(environ: Mapping[str, str], home: Path | None = None) -> str:
    return _get(environ, "XDG_CACHE_HOME") or os.path.join(_home(home), ".cache")


def hf_home_text(environ: Mapping[str, str], home: Path | None = None) -> str:
    value = _get(environ, "HF_HOME") or os.path.join(cache_home_text(environ, home), "huggingface")
    return expand(value, environ, home)


def hf_hub_cache_text(environ: Mapping[str, str], home: Path | None = None) -> str:
    value = _get(environ, "HF_HUB_CACHE") or _get(environ, "HUGGINGFACE_HUB_CACHE")
    if value is None:
        return os.path.join(hf_home_text(environ, home), "hub")
    return expand(value, environ, home)


def cache_home(environ: Mapping[str, str], home: Path | None = None) -> Path:
    """``$XDG_CACHE_HOME`` or ``~/.cache``."""
    return Path(expand(cache_home_text(environ, home), environ, home))


def hf_home(environ: Mapping[str, str], home: Path | None = None) -> Path:
    """``$HF_HOME`` or ``$XDG_CACHE_HOME/huggingface``."""
    return Path(hf_home_text(environ, home))


def hf_hub_cache(environ: Mapping[str, str], home: Path | None = None) -> Path:
    """The hub cache: ``$HF_HUB_CACHE`` > ``$HUGGINGFACE_HUB_CACHE`` > ``$HF_HOME/hub`` >
    ``$XDG_CACHE_HOME/huggingface/hub`` > ``~/.cache/huggingface/hub``."""
    return Path(hf_hub_cache_text(environ, home))


def hf_token_path(environ: Mapping[str, str], home: Path | None = None) -> Path:
    """Where hub reads the saved login: ``$HF_TOKEN_PATH`` or ``$HF_HOME/token``."""
    value = _get(environ, "HF_TOKEN_PATH")
    return Path(expand(value, environ, home)) if value else hf_home(environ, home) / "token"
