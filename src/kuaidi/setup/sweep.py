"""Sweep what a killed ``kuaidi setup`` / ``--undo`` left: temp files of dead writers (the one
temp-name rule of :mod:`kuaidi.atomic`) in every directory setup writes to."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from kuaidi.atomic import sweep_dir

_FORCED = ("PIP_CONFIG_FILE", "UV_CONFIG_FILE", "CONDARC")


def writer_dirs(
    home: Path, environ: Mapping[str, str], state_dir: Path, files: Iterable[str | Path] = ()
) -> list[Path]:
    """Every directory a setup writer, its undo record or ``files`` (through symlinks) live in."""
    value = environ.get("XDG_CONFIG_HOME")
    config_home = Path(value) if value and os.path.isabs(value) else home / ".config"
    dirs = [
        home,
        config_home / "pip",
        config_home / "uv",
        config_home / "kuaidi",
        state_dir,
        state_dir / "pristine",
    ]
    dirs += [Path(environ[v]).expanduser().parent for v in _FORCED if environ.get(v)]
    for name in (".bashrc", ".zshrc", ".bash_profile", ".bash_login", ".profile", *files):
        path = home / name if isinstance(name, str) and "/" not in name else Path(name)
        dirs += [path.parent, Path(os.path.realpath(path)).parent]
    return list(dict.fromkeys(dirs))


def sweep_leftovers(
    home: Path, environ: Mapping[str, str], state_dir: Path, files: Iterable[str | Path] = ()
) -> list[Path]:
    """Remove dead writers' temp files from :func:`writer_dirs`; returns what was removed."""
    removed: list[Path] = []
    for directory in writer_dirs(home, environ, state_dir, files):
        removed += sweep_dir(directory)
    return removed
