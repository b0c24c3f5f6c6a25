"""Fixtures for the setup tests: a temp HOME, fake platform roots, clean subprocess envs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kuaidi.setup import SetupOptions
from tests.platforms.fake_trees import make_tree

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
KUAIDI = VENV_BIN / "kuaidi"
SKEL = Path("/etc/skel")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def autodl(tmp_path: Path) -> Path:
    """A fake AutoDL root (data disk root/autodl-tmp, /etc/network_turbo)."""
    root = tmp_path / "root"
    make_tree(root, "autodl")
    return root


def options(home: Path, root: Path, **kw) -> SetupOptions:
    return SetupOptions(home=home, root=root, **kw)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every file (bytes, mode) and directory (None) under ``directory``."""
    found: dict[str, tuple[bytes, int] | None] = {}
    for path in sorted(directory.rglob("*")):
        rel = str(path.relative_to(directory))
        found[rel] = None if path.is_dir() else (path.read_bytes(), path.stat().st_mode & 0o7777)
    return found


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: no proxies, no PIP_* / UV_* / XDG_* from the test runner."""
    env = {"HOME": str(home), "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def skel_home(home: Path) -> None:
    """Give ``home`` Debian's stock ~/.bashrc and ~/.profile (what AutoDL images ship)."""
    for name in (".bashrc", ".profile"):
        source = SKEL / name
        if source.is_file():
            (home / name).write_bytes(source.read_bytes())
        else:  # pragma: no cover - non-Debian runner
            pytest.skip("/etc/skel is missing")


def cli_env(home: Path) -> dict[str, str]:
    """os.environ for an in-process kuaidi.cli.main call, pointed at ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "XDG_"))}
    env.pop("CONDARC", None)
    env["HOME"] = str(home)
    return env


def run_tool(
    argv: list[str], home: Path, cwd: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """A real tool (pip, uv, bash) in the clean environment of ``home``."""
    return subprocess.run(
        argv,
        env=clean_env(home, PIP_DISABLE_PIP_VERSION_CHECK="1", **env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
