"""Every --dry-run writes nothing (hash of the whole HOME and root tree before and after), the
script's undo is byte-identical, and SIGKILLs during setup leave nothing behind once the next run
or undo has swept (issue 11, defects 1, 8 and 11)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kuaidi.atomic import TEMP_NAME
from kuaidi.setup import apply, plan, undo
from tests.setup.conftest import KUAIDI, clean_env, options, skel_home, snapshot


def tree_hash(*tops: Path) -> str:
    """sha256 over every path, type, mode and content under ``tops``."""
    digest = hashlib.sha256()
    for top in tops:
        for path in sorted(top.rglob("*")):
            st = path.lstat()
            digest.update(f"{path}\0{st.st_mode:o}\0".encode())
            if path.is_file() and not path.is_symlink():
                digest.update(path.read_bytes())
            elif path.is_symlink():
                digest.update(os.readlink(path).encode())
    return digest.hexdigest()


def _kuaidi(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUAIDI), *args], env=clean_env(home), capture_output=True, text=True, timeout=120
    )


def _lived_in(home: Path) -> None:
    skel_home(home)
    (home / ".condarc").write_text("~\n")
    (home / ".cache/huggingface").mkdir(parents=True)
    (home / ".cache/huggingface/token").write_text("hf_x")


@pytest.mark.parametrize(
    "verb",
    [
        ["setup", "--dry-run"],
        ["setup", "--undo", "--dry-run"],
        ["doctor", "--fix", "--dry-run", "--offline"],
        ["script"],  # the generated script's own --dry-run
    ],
)
def test_dry_run_writes_nothing(home, autodl, verb, tmp_path):
    _lived_in(home)
    if "--undo" in verb:  # something to undo
        assert _kuaidi(home, "setup", "--root", str(autodl)).returncode == 0
    before = tree_hash(home, autodl)
    if verb == ["script"]:
        text = _kuaidi(home, "script", "--root", str(autodl)).stdout
        (tmp_path / "s.sh").write_text(text)
        out = subprocess.run(["bash", str(tmp_path / "s.sh"), "--dry-run"], env=clean_env(home),
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert "would write: " in out.stdout and out.stdout.endswith("dry run: nothing written\n")
    else:
        out = _kuaidi(home, *verb, "--root", str(autodl))
    assert out.returncode in (0, 1), out.stderr  # doctor exits 1 while errors remain
    assert "Traceback" not in out.stderr
    assert tree_hash(home, autodl) == before
    if verb[:2] == ["setup", "--undo"]:
        assert "nothing written" in out.stdout and "restored" not in out.stdout
        assert "--- " in out.stdout  # the diffs the undo would make
    if verb[0] == "doctor":
        assert "nothing written" in out.stdout and "+++ " in out.stdout


def test_script_warns_on_a_bare_box_without_platform(home, tmp_path):
    bare = tmp_path / "bare-root"
    bare.mkdir()
    out = _kuaidi(home, "script", "--root", str(bare))
    assert out.returncode == 0
    assert out.stderr.startswith("warning: this machine looks like a bare box")
    assert "--platform" in out.stderr and "# WARNING: generated on a bare machine" in out.stdout
    named = _kuaidi(home, "script", "--root", str(bare), "--platform", "autodl")
    assert named.stderr == "" and "WARNING" not in named.stdout
    env_part = named.stdout[named.stdout.index('kuaidi_put "$env_file"') :]
    assert "bash setup-china-mirrors.sh --undo" in env_part  # the env file names the script


def test_script_undo_is_byte_identical_for_odd_rc_files(home, autodl, tmp_path):
    (home / ".bashrc").write_bytes(b"# mine\nalias ll='ls -l'")  # no final newline
    (home / ".bash_profile").write_bytes(b"export A=1\n")  # a login file not reading .bashrc
    before = snapshot(home)
    script = tmp_path / "setup-china-mirrors.sh"
    out = _kuaidi(home, "script", "--root", str(autodl), "-o", str(script))
    assert out.returncode == 0
    run = subprocess.run(["bash", str(script)], env=clean_env(home), capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "# kuaidi" in (home / ".bashrc").read_text()
    undo_run = subprocess.run(["bash", str(script), "--undo"], env=clean_env(home),
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert undo_run.returncode == 0, undo_run.stderr
    assert "as it was before" in undo_run.stdout
    assert snapshot(home) == before


RUN = (
    "import sys; from pathlib import Path; from kuaidi.setup import SetupOptions, apply, plan;"
    "apply(plan(SetupOptions(home=Path(sys.argv[1]), root=Path(sys.argv[2]))))"
)
NAMES = ["pip.conf", "uv.toml", ".condarc", "env.sh", ".bashrc", "manifest.json"]
STAGES = ["mid-tmp", "before-replace", "after-replace"]


def _kill_at(stage: str, name: str, home: Path, root: Path, marker: Path) -> None:
    env = dict(
        os.environ,
        KUAIDI_TEST_ATOMIC_PAUSE=stage,
        KUAIDI_TEST_ATOMIC_NAME=name,
        KUAIDI_TEST_ATOMIC_MARKER=str(marker),
    )
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(home), str(root)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        marker.unlink(missing_ok=True)


def _leftovers(*tops: Path) -> list[Path]:
    return [p for top in tops for p in top.rglob("*") if TEMP_NAME.match(p.name)]


def test_seeded_sigkills_during_setup_leave_nothing_after_the_next_run_and_undo(
    home, autodl, tmp_path
):
    """12 kills at seeded (stage, file) points; each next run sweeps; undo restores all."""
    skel_home(home)
    (home / ".condarc").write_text("# mine\nauto_activate_base: false\n")
    before = snapshot(home)
    rng = random.Random(11)
    left_total = 0
    for i in range(12):
        _kill_at(rng.choice(STAGES), rng.choice(NAMES), home, autodl, tmp_path / f"m{i}")
        left_total += len(_leftovers(home))
        if i % 3 == 2:  # now and then a complete run between kills: it sweeps
            apply(plan(options(home, autodl)))
            assert _leftovers(home) == []
    assert left_total > 0  # the kills did leave temp files (else this test shows nothing)
    apply(plan(options(home, autodl)))
    assert _leftovers(home) == [] and plan(options(home, autodl)).empty
    undo(home)
    assert snapshot(home) == before
