"""What the doctor looks at: environment, HOME, the root tree, the platform, the config files.

Everything is injected so tests hand the doctor a fake box (a tmp HOME and root tree, a dict of
environment variables, a fake ``statvfs``); the CLI builds the real one with :func:`Context.real`.
Config files are read, never written (``--fix`` goes through ``kuaidi setup``).
"""

from __future__ import annotations

import configparser
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kuaidi.errors import ConfigError
from kuaidi.model import hfpaths
from kuaidi.platforms import Platform, detect
from kuaidi.setup.parsers import parse_uv

# Conda/Python prefixes the platforms ship (platforms.md §2): their pip.conf is pip's site file
# and their .condarc a system conda file.
CONDA_PREFIXES = ("/root/miniconda3", "/opt/conda", "/environment/miniconda3", "/usr/local")
PYPI_ORIGIN = "https://pypi.org/simple"


@dataclass(frozen=True)
class ConfigValue:
    """A setting and the file (or variable) it came from."""

    value: str
    source: str


@dataclass
class Context:
    """The box as the doctor sees it.

    For example::

        ctx = Context(environ={"HF_ENDPOINT": "https://hf-mirror.com"}, home=tmp / "root",
                      root=tmp)
    """

    environ: Mapping[str, str]
    home: Path
    root: Path = Path("/")
    offline: bool = False
    timeout: float = 3.0  # seconds per live request
    statvfs: Callable[[str], Any] = os.statvfs
    platform_name: str | None = None
    problems: list[str] = field(default_factory=list)  # unreadable config files, shown as info

    @classmethod
    def real(cls, *, root: Path = Path("/"), offline: bool = False, **kw: Any) -> Context:
        """The running box: ``os.environ`` and ``$HOME``."""
        home = Path(os.environ.get("HOME") or os.path.expanduser("~"))
        return cls(environ=dict(os.environ), home=home, root=Path(root), offline=offline, **kw)

    # paths ---------------------------------------------------------------------------------------
    def under(self, path: str | Path) -> Path:
        """``path`` (absolute on the box) inside the root tree."""
        return self.root / str(path).lstrip("/")

    def on_box(self, path: str | Path) -> Path:
        """A path from the environment (``$HF_HOME``, ``~/x``) as it lies under the root tree."""
        text = str(path)
        p = self.home / text[2:] if text.startswith("~/") else Path(text)
        # HOME is given as a real path (a test's tmp HOME may lie outside the root tree)
        if (
            self.root != Path("/")
            and p.is_absolute()
            and not _inside(p, self.root)
            and not (_inside(p, self.home))
        ):
            return self.under(p)
        return p

    @property
    def config_home(self) -> Path:
        value = self.environ.get("XDG_CONFIG_HOME")
        return self.on_box(value) if value and os.path.isabs(value) else self.home / ".config"

    @property
    def cache_home(self) -> Path:
        return self.on_box(hfpaths.cache_home(self.environ, self.home))

    @property
    def kuaidi_env_file(self) -> Path:
        return self.config_home / "kuaidi" / "env.sh"

    @functools.cached_property
    def platform(self) -> Platform:
        return detect(self.root, self.environ, name=self.platform_name)

    @property
    def data_disk(self) -> Path | None:
        disk = self.platform.data_disk
        return disk if disk is not None and disk.is_dir() else None

    def env(self, name: str) -> str | None:
        """A variable, or None when unset or empty."""
        value = self.environ.get(name)
        return value if value else None

    # pip -------------------------------------------------------------------------------------
    @functools.cached_property
    def pip_files(self) -> list[tuple[Path, configparser.RawConfigParser]]:
        """pip config files that exist, lowest precedence first (mirrors-and-config.md §2)."""
        forced = self.environ.get("PIP_CONFIG_FILE")
        if forced == os.devnull:
            return []
        paths = [self.under("/etc/xdg/pip/pip.conf"), self.under("/etc/pip.conf")]
        if not (forced and self.on_box(forced).is_file()):
            paths += [self.home / ".pip/pip.conf", self.config_home / "pip/pip.conf"]
        paths += [self.under(p) / "pip.conf" for p in CONDA_PREFIXES]
        for var in ("CONDA_PREFIX", "VIRTUAL_ENV"):
            if self.env(var):
                paths.append(self.on_box(self.environ[var]) / "pip.conf")
        if forced:
            paths.append(self.on_box(forced))
        found = []
        for path in dict.fromkeys(paths):
            parser = self._ini(path)
            if parser is not None:
                found.append((path, parser))
        return found

    def _ini(self, path: Path) -> configparser.RawConfigParser | None:
        if not path.is_file():
            return None
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(path.read_text("utf-8", errors="replace"), source=str(path))
        except configparser.Error as exc:
            self.problems.append(
                f"{path} is not a valid pip config file: {str(exc).splitlines()[0]}"
            )
            return None
        return parser

    def pip_setting(
        self, key: str, sections: tuple[str, ...] = ("global", "install")
    ) -> ConfigValue | None:
        """The effective value of a pip option and where it came from (``PIP_*`` beats files)."""
        var = "PIP_" + key.upper().replace("-", "_")
        if self.env(var):
            return ConfigValue(self.environ[var], f"${var}")
        found: ConfigValue | None = None
        for path, parser in self.pip_files:
            for section in sections:
                for spelling in (key, key.replace("-", "_")):
                    if parser.has_option(section, spelling):
                        found = ConfigValue(
                            parser.get(section, spelling).strip(), f"{path} [{section}]"
                        )
        return found

    def pip_index(self) -> ConfigValue:
        return self.pip_setting("index-url") or ConfigValue(PYPI_ORIGIN, "pip's default")

    # uv --------------------------------------------------------------------------------------
    def uv_index(self) -> ConfigValue:
        """uv's default index (uv ignores pip.conf and ``PIP_INDEX_URL``)."""
        for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL"):
            if self.env(var):
                return ConfigValue(self.environ[var], f"${var}")
        files = []
        if self.env("UV_CONFIG_FILE"):
            files = [self.on_box(self.environ["UV_CONFIG_FILE"])]
        else:
            files = [self.config_home / "uv/uv.toml", self.under("/etc/uv/uv.toml")]
        for path in files:  # highest precedence first
            url = self._uv_file_index(path)
            if url:
                return ConfigValue(url, str(path))
        return ConfigValue(PYPI_ORIGIN, "uv's default")

    def _uv_file_index(self, path: Path) -> str | None:
        if not path.is_file():
            return None
        try:
            doc = parse_uv(path, path.read_text("utf-8", errors="replace"))
        except ConfigError as exc:  # read as uv reads it: a file uv rejects sets nothing
            self.problems.append(exc.message)
            return None
        indexes = doc.get("index")
        for entry in indexes if isinstance(indexes, list) else []:
            if isinstance(entry, dict) and entry.get("default") is True and entry.get("url"):
                return str(entry["url"])
        for table in (doc, doc.get("pip")):
            if isinstance(table, dict) and table.get("index-url"):
                return str(table["index-url"])
        return None

    # conda -----------------------------------------------------------------------------------
    @functools.cached_property
    def condarc_files(self) -> list[tuple[Path, dict[str, Any]]]:
        """``.condarc`` files that exist, lowest precedence first (conda docs' search path)."""
        paths = [self.under("/etc/conda/.condarc"), self.under("/etc/conda/condarc")]
        paths += [self.under(p) / ".condarc" for p in CONDA_PREFIXES]
        if self.env("CONDA_ROOT"):
            paths.append(self.on_box(self.environ["CONDA_ROOT"]) / ".condarc")
        paths += [
            self.config_home / "conda/.condarc",
            self.config_home / "conda/condarc",
            self.home / ".conda/.condarc",
            self.home / ".condarc",
        ]
        for var in ("CONDA_PREFIX", "CONDARC"):
            if self.env(var):
                base = self.on_box(self.environ[var])
                paths.append(base / ".condarc" if var == "CONDA_PREFIX" else base)
        found = []
        yaml = YAML(typ="safe")
        for path in dict.fromkeys(paths):
            if not path.is_file():
                continue
            try:
                data = yaml.load(path.read_text("utf-8", errors="replace"))
            except YAMLError as exc:
                self.problems.append(f"{path} is not valid YAML: {str(exc).splitlines()[0]}")
                continue
            if isinstance(data, dict):
                found.append((path, self._typed_condarc(path, data)))
        return found

    def _typed_condarc(self, path: Path, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` without the keys whose value conda itself would reject (each one reported),
        so every check can trust the types of what it reads."""
        kinds = {"channels": list, "default_channels": list, "custom_channels": dict}
        kept = dict(data)
        for key, kind in kinds.items():
            if kept.get(key) is not None and not isinstance(kept[key], kind):
                noun = "a list" if kind is list else "a mapping"
                self.problems.append(f"{path}: {key} must be {noun}, not {kept[key]!r}")
                del kept[key]
        return kept

    def conda_setting(self, key: str) -> ConfigValue | None:
        found = None
        for path, data in self.condarc_files:
            if key in data and data[key] is not None:
                found = ConfigValue(data[key], str(path))
        return found


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True
