"""Each config file read the way its own tool reads it, failing as a one-line ``ConfigError``
that names the file and line.

pip reads pip.conf with ``configparser.RawConfigParser`` (strict); uv reads uv.toml with a strict
TOML parser (``tomllib`` here); conda reads .condarc with ruamel.yaml. Every setup writer parses
its output with these before the file is replaced, so kuaidi never leaves a file its tool cannot
read (issue 11: a ``.condarc`` of ``~`` became ``~\\nchannels: …``).
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import tomlkit
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from kuaidi.errors import ConfigError

try:  # Python 3.11+; uv itself is strict like tomllib
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None  # type: ignore[assignment]  # callers check for None on 3.10

NOTHING_WRITTEN = "then run kuaidi setup again (nothing was written)"


def refuse(path: Path, line: int | None, what: str) -> ConfigError:
    """``ConfigError("<path>:<line>: <what>")`` with the usual fix."""
    where = f"{path}:{line}" if line else str(path)
    return ConfigError(f"{where}: {what}", fix=f"fix or move {path}, {NOTHING_WRITTEN}")


def line_of(text: str, pattern: str) -> int | None:
    """1-based number of the first line matching ``pattern`` (a regex), or None."""
    rx = re.compile(pattern)
    for number, line in enumerate(text.splitlines(), 1):
        if rx.search(line):
            return number
    return None


# pip ------------------------------------------------------------------------------------------
def parse_pip(path: Path, text: str) -> configparser.RawConfigParser:
    """pip.conf as pip reads it (``RawConfigParser``, strict: duplicate keys are errors)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        if line is None and getattr(exc, "errors", None):
            # only ParsingError has .errors (the getattr above checked it is there)
            line = exc.errors[0][0]  # type: ignore[attr-defined]
        first = str(exc).splitlines()[0]
        raise refuse(path, line, f"not a valid pip config file: {first}") from exc
    return parser


def pip_values(parser: configparser.RawConfigParser) -> dict[tuple[str, str], str]:
    """Every (section, option) → value, for comparing a file before and after an edit."""
    return {(s, k): v for s in parser.sections() for k, v in parser.items(s, raw=True)}


# uv -------------------------------------------------------------------------------------------
def parse_uv(path: Path, text: str) -> dict[str, Any]:
    """uv.toml as a strict TOML parser reads it."""
    try:
        if tomllib is None:  # pragma: no cover - Python 3.10
            return tomlkit.parse(text).unwrap()
        return tomllib.loads(text)
    except (ValueError, tomlkit.exceptions.TOMLKitError) as exc:  # TOMLDecodeError is a ValueError
        match = re.search(r"line (\d+)", str(exc))
        raise refuse(
            path, int(match.group(1)) if match else None, f"not valid TOML: {exc}"
        ) from exc


# conda ----------------------------------------------------------------------------------------
def yaml_safe() -> YAML:
    return YAML(typ="safe", pure=True)


def parse_conda(path: Path, text: str) -> Any:
    """.condarc as conda reads it (ruamel.yaml); None for an empty document."""
    try:
        return yaml_safe().load(text)
    except YAMLError as exc:
        raise yaml_refusal(path, exc) from exc
    except (ValueError, TypeError, AttributeError) as exc:  # ruamel on odd tags / keys
        raise refuse(path, None, f"not YAML conda can read: {type(exc).__name__}: {exc}") from exc


def yaml_refusal(path: Path, exc: Exception) -> ConfigError:
    mark = getattr(exc, "problem_mark", None) if isinstance(exc, MarkedYAMLError) else None
    line = mark.line + 1 if mark is not None else None
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return refuse(path, line, f"not valid YAML: {first}")
