"""Moving HF_HOME to the data disk keeps the user's login and says where their caches are
(issue 11, defects 2 and 3)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.setup.conftest import KUAIDI, VENV_BIN, clean_env, skel_home, snapshot

TOKEN = "hf_kuaidiTestToken0123456789abcdef"
GET_TOKEN = "from huggingface_hub import get_token; print(get_token())"


def _kuaidi(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUAIDI), *args], env=clean_env(home), capture_output=True, text=True, timeout=120
    )


def _login_shell(home: Path, python: str) -> str:
    """What a real ``bash -l`` (as an ssh login) gets from huggingface_hub's own get_token()."""
    out = subprocess.run(
        ["bash", "-l", "-c", f"{python} -c '{GET_TOKEN}'"],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _saved_login(home: Path) -> Path:
    token = home / ".cache/huggingface/token"
    token.parent.mkdir(parents=True)
    token.write_text(TOKEN)
    token.chmod(0o600)
    return token


def test_saved_login_still_works_in_a_login_shell_after_setup_and_undo_restores(home, autodl):
    skel_home(home)
    token = _saved_login(home)
    pythons = [str(VENV_BIN / "python")]
    if os.environ.get("KUAIDI_HF0_PYTHON"):
        pythons.append(os.environ["KUAIDI_HF0_PYTHON"])  # huggingface_hub 0.26
    for python in pythons:
        assert _login_shell(home, python) == TOKEN  # before: the default HF_HOME
    before = snapshot(home)
    out = _kuaidi(home, "setup", "--root", str(autodl))
    assert out.returncode == 0, out.stderr
    assert TOKEN not in out.stdout + out.stderr
    assert "HF_TOKEN_PATH at it" in out.stdout
    env_sh = (home / ".config/kuaidi/env.sh").read_text()
    assert f'export HF_HOME="{autodl}/root/autodl-tmp/hf"' in env_sh
    assert f'export HF_TOKEN_PATH="{token}"' in env_sh and TOKEN not in env_sh
    for python in pythons:
        assert _login_shell(home, python) == TOKEN
    assert token.stat().st_mode & 0o777 == 0o600  # the secret itself was never rewritten
    out = _kuaidi(home, "setup", "--undo")
    assert out.returncode == 0, out.stderr
    assert snapshot(home) == before


def test_no_saved_login_means_no_token_path(home, autodl):
    assert _kuaidi(home, "setup", "--root", str(autodl), "--only", "env").returncode == 0
    assert "HF_TOKEN_PATH" not in (home / ".config/kuaidi/env.sh").read_text()


@pytest.mark.parametrize("dry", [False, True])
def test_setup_names_each_cache_it_points_away_from(home, autodl, dry):
    blob = home / ".cache/huggingface/hub/models--org--m/blobs/abc"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"x" * 1500)
    torch = home / ".cache/torch/hub/checkpoints/w.pth"
    torch.parent.mkdir(parents=True)
    torch.write_bytes(b"y" * 20)
    (home / ".cache/pip").mkdir()  # empty: nothing to report
    before = snapshot(home)
    out = _kuaidi(home, "setup", "--root", str(autodl), *(["--dry-run"] if dry else []))
    assert out.returncode == 0, out.stderr
    notes = [ln for ln in out.stdout.splitlines() if "stays where it is;" in ln]
    data = autodl / "root/autodl-tmp"
    assert notes == [
        f"note: {home}/.cache/huggingface/hub (1.5 KB) stays where it is; HF_HUB_CACHE now points "
        f"at {data}/hf/hub, so tools no longer see it. Move it: kuaidi cache move --to "
        f"{data}",
        f"note: {home}/.cache/torch (20 B) stays where it is; TORCH_HOME now points at "
        f'{data}/torch, so tools no longer see it. Move it: mv "{home}/.cache/torch"/* '
        f'"{data}/torch"/',
    ]
    assert blob.read_bytes() == b"x" * 1500  # setup moves no data
    if dry:
        assert snapshot(home) == before
