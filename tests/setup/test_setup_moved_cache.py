"""A later ``kuaidi setup`` keeps a cache ``kuaidi cache move`` put elsewhere (issue 11): setup used
to re-render the env file from its own defaults and drop the move's ``HF_HUB_CACHE`` line, so the
moved models seemed to vanish. The move records its choice in setup's state; setup renders it;
``kuaidi setup --undo`` still restores every file byte for byte."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from kuaidi.get import download
from kuaidi.sim import Sim
from tests.cache.conftest import TINY, run_kuaidi
from tests.setup.conftest import VENV_BIN


def files_outside_caches(home: Path) -> dict[str, bytes | str | None]:
    """Every entry under ``home`` except the caches a move relocates (bytes, link text, None)."""
    found: dict[str, bytes | str | None] = {}
    for dirpath, dirs, names in os.walk(home):
        dirs[:] = sorted(d for d in dirs if Path(dirpath, d) != home / ".cache")
        for name in sorted([*dirs, *names]):
            path = Path(dirpath, name)
            rel = str(path.relative_to(home))
            if path.is_symlink():
                found[rel] = os.readlink(path)
            else:
                found[rel] = None if path.is_dir() else path.read_bytes()
    return found


def login_shell_hub_cache(home: Path) -> str:
    """What huggingface_hub itself uses as its cache in a new login shell of ``home``."""
    code = "from huggingface_hub import constants; print(constants.HF_HUB_CACHE)"
    env = {"HOME": str(home), "PATH": f"{VENV_BIN}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    out = subprocess.run(
        ["bash", "-lc", f"{VENV_BIN}/python -c {code!r}"],  # /etc/profile resets PATH
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_setup_after_cache_move_keeps_the_moved_cache(
    tmp_path: Path, home: Path, autodl: Path
) -> None:
    (home / ".bashrc").write_text("# my bashrc\nalias ll='ls -l'\n")
    (home / ".profile").write_text('# my profile\n. "$HOME/.bashrc"\n')
    hub = home / ".cache" / "huggingface" / "hub"
    with Sim("clean", hosts=["hf-mirror", "hf-cdn"], cache_dir=tmp_path / "sim") as sim:
        assert download(TINY, cache_dir=hub, endpoint=sim.url("hf-mirror")).ok
    before = files_outside_caches(home)
    big = tmp_path / "big-disk"
    dest = big / "hf" / "hub"
    root = {"KUAIDI_ROOT": str(autodl)}

    moved = run_kuaidi("cache", "move", "--to", str(big), home=home)
    assert moved.returncode == 0, moved.stderr
    env_sh = home / ".config" / "kuaidi" / "env.sh"
    assert f'export HF_HUB_CACHE="{dest}"' in env_sh.read_text()

    setup = run_kuaidi("setup", home=home, env=root)
    assert setup.returncode == 0, setup.stderr
    text = env_sh.read_text()
    # setup's own layout for the rest (the data disk), the moved cache where the move put it
    assert f'export HF_HUB_CACHE="{dest}"' in text, text
    assert f'export MODELSCOPE_CACHE="{autodl}/root/autodl-tmp/modelscope"' in text
    assert text.count("export HF_HUB_CACHE=") == 1
    assert str(dest) not in setup.stdout + setup.stderr  # not named as a cache left behind
    assert login_shell_hub_cache(home) == str(dest)
    # and again: a second setup changes nothing
    again = run_kuaidi("setup", home=home, env=root)
    assert again.returncode == 0 and env_sh.read_text() == text, again.stdout + again.stderr

    undo = run_kuaidi("setup", "--undo", home=home, env=root)
    assert undo.returncode == 0, undo.stderr
    assert files_outside_caches(home) == before
    # the move's link still leads the default path to the moved cache
    assert hub.is_symlink() and os.readlink(hub) == str(dest)
