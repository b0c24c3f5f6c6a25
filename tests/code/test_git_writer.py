"""kuaidi setup's git writer, as a user runs it: idempotent, keeps the user's settings and
comments, undo byte-identical, a malformed ~/.gitconfig is one line and nothing written."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.code.conftest import KUAIDI, turbo_for
from tests.platforms.fake_trees import make_tree

PROXY = "http://10.9.8.7:12798"
USER_CONFIG = """# my settings — keep them
[user]
\tname = Lin
\temail = lin@example.com
[alias]
\tst = status   ; short
[http "https://gitee.com/"]
\tsslVerify = true
"""


def tree_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        digest.update(str(path.relative_to(directory)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def box(tmp_path: Path) -> tuple[Path, Path]:
    root, home = tmp_path / "root", tmp_path / "home"
    make_tree(root, "autodl")
    (root / "etc/network_turbo").write_text(turbo_for(PROXY))
    home.mkdir()
    return root, home


def kuaidi(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUAIDI), *args],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def git_get(home: Path, key: str) -> str:
    return subprocess.run(
        ["git", "config", "--global", "--get", key],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"},
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_only_git_writes_the_github_scope_keeps_the_rest_and_undo_is_byte_identical(box):
    root, home = box
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(USER_CONFIG)
    gitconfig.chmod(0o600)
    run = kuaidi(home, "setup", "--root", str(root), "--only", "git")
    assert run.returncode == 0, run.stderr
    assert f"wrote {gitconfig}" in run.stdout
    text = gitconfig.read_text()
    assert text.startswith(USER_CONFIG)  # every byte of the user's file, comments included
    assert text[len(USER_CONFIG) :] == f'[http "https://github.com/"]\n\tproxy = {PROXY}\n'
    assert git_get(home, "http.https://github.com/.proxy") == PROXY
    assert git_get(home, "http.proxy") == ""  # never a global proxy
    assert git_get(home, "user.name") == "Lin"
    assert (gitconfig.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in home.iterdir()) == [".gitconfig", ".local"]  # only git

    again = kuaidi(home, "setup", "--root", str(root), "--only", "git")
    assert again.returncode == 0 and "already set up: nothing changed" in again.stdout
    assert gitconfig.read_text() == text

    undone = kuaidi(home, "setup", "--undo")
    assert undone.returncode == 0 and f"restored {gitconfig}" in undone.stdout
    assert gitconfig.read_bytes() == USER_CONFIG.encode()
    assert (gitconfig.stat().st_mode & 0o777) == 0o600


def test_a_new_gitconfig_is_removed_by_undo_and_dry_run_touches_nothing(box):
    root, home = box
    before = tree_hash(home)
    dry = kuaidi(home, "setup", "--root", str(root), "--only", "git", "--dry-run")
    assert dry.returncode == 0
    assert f"+\tproxy = {PROXY}" in dry.stdout and "1 file(s) would change" in dry.stdout
    assert tree_hash(home) == before
    assert kuaidi(home, "setup", "--root", str(root), "--only", "git").returncode == 0
    assert (home / ".gitconfig").is_file()
    assert kuaidi(home, "setup", "--undo").returncode == 0
    assert tree_hash(home) == before and not (home / ".gitconfig").exists()


def test_a_malformed_gitconfig_is_one_line_and_nothing_is_written(box):
    root, home = box
    bad = '[user]\n\tname = Lin\n[http "https://github.com/\n\tproxy = x\n'
    (home / ".gitconfig").write_text(bad)
    before = tree_hash(home)
    run = kuaidi(home, "setup", "--root", str(root))  # every writer: all or nothing
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "kuaidi: error:" in lines[0] and str(home / ".gitconfig") in lines[0]
    assert "not a valid git config file" in lines[0] and "line 3" in lines[0]
    assert "Traceback" not in run.stderr
    assert tree_hash(home) == before


def test_proxy_sources_flag_env_and_none(box, tmp_path):
    root, home = box
    run = kuaidi(home, "setup", "--root", str(root), "--only", "git", "--proxy", "10.0.0.5:3128")
    assert run.returncode == 0, run.stderr
    assert git_get(home, "http.https://github.com/.proxy") == "http://10.0.0.5:3128"
    # KUAIDI_PROXY beats the platform's network_turbo (and --proxy beats KUAIDI_PROXY)
    run = kuaidi(home, "setup", "--root", str(root), "--only", "git", KUAIDI_PROXY="http://k:1")
    assert run.returncode == 0
    assert git_get(home, "http.https://github.com/.proxy") == "http://k:1"
    bare = tmp_path / "bare-home"
    bare.mkdir()
    off = kuaidi(bare, "setup", "--root", str(root), "--only", "git", "--proxy", "none")
    assert off.returncode == 0 and "nothing to write" in off.stdout
    assert not (bare / ".gitconfig").exists()
    bad = kuaidi(bare, "setup", "--root", str(root), "--only", "git", "--proxy", "not a url")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_xdg_git_config_is_used_when_only_it_exists(box):
    root, home = box
    xdg = home / ".config/git/config"
    xdg.parent.mkdir(parents=True)
    xdg.write_text("[core]\n\teditor = vim\n")
    assert kuaidi(home, "setup", "--root", str(root), "--only", "git").returncode == 0
    assert not (home / ".gitconfig").exists()
    assert f"proxy = {PROXY}" in xdg.read_text() and "editor = vim" in xdg.read_text()


def test_a_global_http_proxy_is_named_in_a_note(box):
    root, home = box
    (home / ".gitconfig").write_text("[http]\n\tproxy = http://1.2.3.4:7890\n")
    run = kuaidi(home, "setup", "--root", str(root), "--only", "git")
    assert run.returncode == 0
    assert "sets http.proxy = http://1.2.3.4:7890 for every host" in run.stdout
