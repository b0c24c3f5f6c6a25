"""The generated bash script: shellcheck-clean, idempotent, byte-identical to kuaidi setup."""

import os
import shlex
import subprocess

import pytest

from kuaidi.cli import main
from kuaidi.setup import apply, plan
from kuaidi.setup.script import render_script
from tests.conftest import require_binary
from tests.setup.conftest import clean_env, cli_env, options, skel_home, snapshot


def _config_files(home):
    """What both produce, without kuaidi setup's own undo state."""
    return {k: v for k, v in snapshot(home).items() if not k.startswith(".local")}


def _run_script(text, home, tmp_path, *args, **env):
    path = tmp_path / "setup-china-mirrors.sh"
    path.write_text(text)
    return subprocess.run(
        [require_binary("bash"), str(path), *args],
        env=clean_env(home, **env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def test_script_is_shellcheck_clean(home, autodl, tmp_path):
    path = tmp_path / "s.sh"
    path.write_text(render_script(options(home, autodl)))
    check = subprocess.run(
        [require_binary("shellcheck"), str(path)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout


def test_script_has_no_pipe_inside_a_grep_pattern(home, autodl):
    text = render_script(options(home, autodl, pypi="aliyun"))
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -u\n" in text
    code = text.split("<<'KUAIDI_EOF'")[0] + "".join(
        part.split("\nKUAIDI_EOF\n", 1)[-1] for part in text.split("<<'KUAIDI_EOF'")[1:]
    )
    greps = 0
    for line in code.replace("\\\n", " ").splitlines():
        if "grep" not in line or line.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        tokens = list(lexer)
        for i, token in enumerate(tokens):
            if token == "grep":
                greps += 1
                args = []
                for arg in tokens[i + 1 :]:
                    if arg in ("|", "||", "&&", ";", ")", ">", "<"):
                        break
                    args.append(arg)
                assert not any("|" in a for a in args), line
    assert greps >= 4


@pytest.mark.parametrize("kw", [{}, {"pypi": "http://10.0.0.5/simple", "hf": "alpha-hf-mirror"}])
def test_script_in_a_clean_home_writes_the_same_files_as_kuaidi_setup(tmp_path, autodl, kw):
    by_setup, by_script = tmp_path / "a", tmp_path / "b"
    by_setup.mkdir()
    by_script.mkdir()
    apply(plan(options(by_setup, autodl, **kw)))
    run = _run_script(render_script(options(by_setup, autodl, **kw)), by_script, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert _config_files(by_script) == _config_files(by_setup)
    assert len(_config_files(by_setup)) >= 6


def test_script_on_debian_home_matches_setup_and_second_run_changes_nothing(tmp_path, autodl):
    by_setup, by_script = tmp_path / "a", tmp_path / "b"
    for h in (by_setup, by_script):
        h.mkdir()
        skel_home(h)
        (h / ".zshrc").write_text("# zsh\nsetopt autocd\n")
    apply(plan(options(by_setup, autodl)))
    text = render_script(options(by_setup, autodl))
    assert _run_script(text, by_script, tmp_path).returncode == 0
    assert _config_files(by_script) == _config_files(by_setup)  # rc files too: awk == Python
    first = snapshot(by_script)
    again = _run_script(text, by_script, tmp_path)
    assert again.returncode == 0 and snapshot(by_script) == first
    assert "wrote" not in again.stdout and "updated" not in again.stdout


def test_script_keeps_a_backup_of_a_different_existing_file(tmp_path, autodl):
    home = tmp_path / "h"
    (home / ".config/pip").mkdir(parents=True)
    mine = "[global]\ntimeout = 99\n"
    (home / ".config/pip/pip.conf").write_text(mine)
    (home / ".condarc").write_text(
        "# already mirrored\ndefault_channels: [https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main]\n"
    )
    condarc = (home / ".condarc").read_text()
    run = _run_script(render_script(options(home, autodl)), home, tmp_path)
    assert run.returncode == 0
    assert (home / ".config/pip/pip.conf.kuaidi-bak").read_text() == mine
    assert "index-url" in (home / ".config/pip/pip.conf").read_text()
    assert (home / ".condarc").read_text() == condarc  # already names the mirror: kept
    assert _run_script(render_script(options(home, autodl)), home, tmp_path).returncode == 0
    assert (home / ".config/pip/pip.conf.kuaidi-bak").read_text() == mine  # backup made once


def test_script_honours_xdg_config_home_and_pip_config_devnull(tmp_path, autodl):
    home = tmp_path / "h"
    home.mkdir()
    xdg = tmp_path / "xdg"
    text = render_script(options(home, autodl))
    run = _run_script(text, home, tmp_path, XDG_CONFIG_HOME=str(xdg), PIP_CONFIG_FILE="/dev/null")
    assert run.returncode == 0 and "skipped pip" in run.stdout
    assert (xdg / "uv/uv.toml").is_file() and (xdg / "kuaidi/env.sh").is_file()
    assert not (xdg / "pip").exists()
    assert f'. "{xdg}/kuaidi/env.sh"' in (home / ".bashrc").read_text()


def test_cli_script_stdout_and_output_file(home, autodl, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "environ", cli_env(home))
    assert main(["script", "--root", str(autodl), "--only", "pip,env,shell"]) == 0
    text = capsys.readouterr().out
    assert "pip.conf" in text and "uv.toml" not in text and ".condarc" not in text
    out = tmp_path / "setup-china-mirrors.sh"
    assert main(["script", "--root", str(autodl), "-o", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o755
    assert "# Platform: AutoDL" in out.read_text()


def test_script_undo_puts_the_home_back(tmp_path, autodl):
    clean, debian = tmp_path / "clean", tmp_path / "debian"
    clean.mkdir()
    debian.mkdir()
    skel_home(debian)
    (debian / ".config/pip").mkdir(parents=True)
    (debian / ".config/pip/pip.conf").write_text("[global]\ntimeout = 99\n")
    for home in (clean, debian):
        before = snapshot(home)
        text = render_script(options(home, autodl))
        assert _run_script(text, home, tmp_path).returncode == 0
        assert snapshot(home) != before
        undo = _run_script(text, home, tmp_path, "--undo")
        assert undo.returncode == 0, undo.stderr
        assert snapshot(home) == before, home.name


def test_script_undo_keeps_directories_that_existed_empty(tmp_path, autodl):
    """Undo removes only the directories the script created: an empty ~/.config/pip,
    ~/.config/kuaidi or ~/.ipython that was there before stays (it used to be rmdir'ed as the
    parent of a file the script had written)."""
    home = tmp_path / "home"
    for d in (".config/pip", ".config/kuaidi", ".ipython", ".local/state"):
        (home / d).mkdir(parents=True)
    before = snapshot(home)
    text = render_script(options(home, autodl))
    done = _run_script(text, home, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (home / ".config/pip/pip.conf").is_file() and (home / ".config/uv/uv.toml").is_file()
    undo = _run_script(text, home, tmp_path, "--undo")
    assert undo.returncode == 0, undo.stderr
    assert snapshot(home) == before
    # and what it created is gone: nothing else is left
    assert not (home / ".config/uv").exists() and not (home / ".local/state/kuaidi").exists()


def test_script_rejects_unknown_arguments(tmp_path, autodl):
    home = tmp_path / "h"
    home.mkdir()
    path = tmp_path / "s.sh"
    path.write_text(render_script(options(home, autodl)))
    run = subprocess.run(
        ["bash", str(path), "--frobnicate"],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2 and "usage" in run.stderr and snapshot(home) == {}


def test_script_writes_through_a_symlinked_bashrc(tmp_path, autodl):
    home = tmp_path / "h"
    home.mkdir()
    target = tmp_path / "dotfiles-bashrc"
    target.write_text("# dotfiles\nalias ll='ls -l'\n")
    (home / ".bashrc").symlink_to(target)
    text = render_script(options(home, autodl))
    assert _run_script(text, home, tmp_path).returncode == 0
    assert (home / ".bashrc").is_symlink() and "# kuaidi" in target.read_text()
    assert _run_script(text, home, tmp_path, "--undo").returncode == 0
    assert (home / ".bashrc").is_symlink()
    assert target.read_text() == "# dotfiles\nalias ll='ls -l'\n"
