"""What the user asked for (``SetupOptions``) and what it resolves to on this box (``Context``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kuaidi.errors import KuaidiError
from kuaidi.mirrors import Mirror, default, find
from kuaidi.platforms import Platform, detect

# Every file kuaidi setup can write, in the order it writes them.
TARGETS: tuple[str, ...] = ("pip", "uv", "conda", "env", "shell", "jupyter")


@dataclass(frozen=True)
class SetupOptions:
    """Inputs of ``kuaidi setup`` / ``env`` / ``script``.

    ``home`` None means the real ``$HOME`` and ``environ`` the real environment; with an explicit
    ``home`` the environment defaults to empty, so a test's files never reach the real config.

        >>> SetupOptions(home=Path("/tmp/h"), root=Path("/tmp/fake-autodl"), pypi="aliyun")
        ... # doctest: +ELLIPSIS
        SetupOptions(...)
    """

    home: Path | None = None
    root: Path = Path("/")
    environ: Mapping[str, str] | None = None
    only: frozenset[str] | None = None  # subset of TARGETS; None = all
    pypi: str | None = None  # catalog name or URL
    conda: str | None = None
    hf: str | None = None
    python_mirror: str | None = None  # uv python-install-mirror
    platform: str | None = None  # force a profile instead of detecting
    data_disk: Path | None = None  # override the platform's data disk
    extra_no_proxy: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Context:
    """Options resolved against the box: mirrors, platform, and every path kuaidi may write."""

    options: SetupOptions
    home: Path
    environ: Mapping[str, str]
    platform: Platform
    pypi: Mirror
    conda: Mirror
    hf: Mirror
    python: Mirror
    modelscope: Mirror
    targets: tuple[str, ...]

    @property
    def config_home(self) -> Path:
        """``$XDG_CONFIG_HOME`` or ``~/.config`` (what pip, uv and kuaidi use on Linux)."""
        value = self.environ.get("XDG_CONFIG_HOME")
        return Path(value) if value and os.path.isabs(value) else self.home / ".config"

    @property
    def state_dir(self) -> Path:
        """Undo state: ``$XDG_STATE_HOME/kuaidi/setup``."""
        return state_dir_for(self.home, self.environ)

    @property
    def env_file(self) -> Path:
        """The file holding kuaidi's exports and turbo functions."""
        return self.config_home / "kuaidi" / "env.sh"

    @property
    def data_disk(self) -> Path | None:
        """Where caches go; None keeps every cache in its default place."""
        return self.options.data_disk or self.platform.data_disk


def home_and_environ(options: SetupOptions) -> tuple[Path, Mapping[str, str]]:
    """The real ``$HOME`` and environment, or the given home with the given (default: empty) env."""
    if options.home is None:
        home = Path(os.path.expanduser("~"))
        return home, (os.environ if options.environ is None else options.environ)
    return Path(options.home), (options.environ if options.environ is not None else {})


def state_dir_for(home: Path, environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/kuaidi/setup`` or ``~/.local/state/kuaidi/setup``: platformdirs' Linux
    rule, computed for ``home`` rather than the process's own HOME so tests stay in tmp."""
    value = environ.get("XDG_STATE_HOME")
    base = Path(value) if value and os.path.isabs(value) else home / ".local/state"
    return base / "kuaidi" / "setup"


def resolve(options: SetupOptions) -> Context:
    """Resolve mirrors, the platform and the target list; bad names raise ``KuaidiError``."""
    home, environ = home_and_environ(options)
    only = options.only
    if only is not None:
        unknown = sorted(set(only) - set(TARGETS))
        if unknown:
            raise KuaidiError(
                f"unknown setup target {', '.join(unknown)!s}",
                fix=f"--only takes a comma list of: {','.join(TARGETS)}",
            )
    targets = tuple(t for t in TARGETS if only is None or t in only)
    if options.data_disk is not None and not Path(options.data_disk).is_absolute():
        raise KuaidiError(
            f"--data-disk {options.data_disk} is not an absolute path", fix="give an absolute path"
        )
    platform_environ = environ if options.home is None else options.environ
    return Context(
        options=options,
        home=home,
        environ=environ,
        platform=detect(Path(options.root), platform_environ, name=options.platform),
        pypi=_mirror("pypi", options.pypi),
        conda=_mirror("conda", options.conda),
        hf=_mirror("hf", options.hf),
        python=_mirror("python", options.python_mirror),
        modelscope=default("modelscope"),
        targets=targets,
    )


def _mirror(kind: str, value: str | None) -> Mirror:
    return default(kind) if value is None else find(kind, value)
