"""Real shells: a bash login shell, an interactive one, dash; turbo_on / turbo_off."""

import os
import shutil
import subprocess

import pytest

from kuaidi.cli import main
from kuaidi.setup import apply, plan
from tests.conftest import require_binary
from tests.platforms.fake_trees import TURBO_NO_PROXY, make_tree
from tests.setup.conftest import clean_env, cli_env, options, skel_home

MARK_LINE = '[ -f "$HOME/.config/kuaidi/env.sh" ] && . "$HOME/.config/kuaidi/env.sh"  # kuaidi'
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY")


def _env_of(home, *argv, shell="bash", stdin=None):
    """``env`` as printed by ``shell argv... 'env'`` with a clean environment (like ``env -i``)."""
    out = subprocess.run(
        [require_binary(shell), *argv],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        stdin=subprocess.DEVNULL if stdin is None else None,
        input=stdin,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _set_up(home, root, **kw):
    apply(plan(options(home, root, **kw)))


def test_login_shell_in_a_clean_home_has_the_env(home, autodl):
    _set_up(home, autodl)
    assert (home / ".profile").read_text() == MARK_LINE + "\n"
    env = _env_of(home, "-lc", "env")
    data = autodl / "root/autodl-tmp"
    assert env["HF_ENDPOINT"] == "https://hf-mirror.com"
    assert env["HF_HUB_DISABLE_XET"] == "1" and env["HF_HUB_ENABLE_HF_TRANSFER"] == "0"
    assert env["HF_HOME"] == f"{data}/hf" and env["HF_HUB_CACHE"] == f"{data}/hf/hub"
    assert env["MODELSCOPE_CACHE"] == f"{data}/modelscope"
    assert env["TORCH_HOME"] == f"{data}/torch" and env["PIP_CACHE_DIR"] == f"{data}/pip"
    assert env["CONDA_PKGS_DIRS"] == f"{data}/conda/pkgs"
    assert not set(PROXY_VARS) & set(env)  # proxy stays off until turbo_on


def test_debian_home_login_interactive_and_ssh_command_shells(home, autodl):
    skel_home(home)
    profile_before = (home / ".profile").read_bytes()
    _set_up(home, autodl)
    assert (home / ".profile").read_bytes() == profile_before  # it already reads ~/.bashrc
    bashrc = (home / ".bashrc").read_text().splitlines()
    assert bashrc.count(MARK_LINE) == 1
    assert bashrc.index(MARK_LINE) < next(i for i, ln in enumerate(bashrc) if "case $-" in ln)
    assert not any(".bashrc" in ln for ln in bashrc if not ln.lstrip().startswith("#"))
    for argv in (["-lc", "env"], ["-ic", "env"]):
        assert _env_of(home, *argv)["HF_ENDPOINT"] == "https://hf-mirror.com", argv
    # What sshd runs for `ssh box cmd`: bash -c with stdin not a tty; bash sources ~/.bashrc
    # only when it thinks it is under sshd, so emulate by sourcing it like that path does.
    env = _env_of(home, "-c", '. "$HOME/.bashrc"; env')
    assert env["HF_HOME"].startswith(str(autodl))


def test_bash_profile_that_skips_bashrc_gets_the_line_and_zshrc_when_present(home, autodl):
    (home / ".bash_profile").write_text("# mine\nexport EDITOR=vim\n")
    (home / ".zshrc").write_text("autoload -U compinit\n")
    _set_up(home, autodl)
    assert (home / ".bash_profile").read_text() == f"# mine\n{MARK_LINE}\nexport EDITOR=vim\n"
    assert (home / ".zshrc").read_text() == f"{MARK_LINE}\nautoload -U compinit\n"
    assert not (home / ".profile").exists()
    assert _env_of(home, "-lc", "env")["EDITOR"] == "vim"


def test_turbo_on_exports_both_casings_and_turbo_off_clears_them(home, autodl):
    _set_up(home, autodl)
    script = "turbo_on; echo ON; env; turbo_off; echo OFF; env"
    out = subprocess.run(
        ["bash", "-lc", script], env=clean_env(home), capture_output=True, text=True, timeout=30
    ).stdout
    on_text, off_text = out.split("OFF\n")
    on = dict(ln.split("=", 1) for ln in on_text.split("ON\n")[1].splitlines() if "=" in ln)
    off = dict(ln.split("=", 1) for ln in off_text.splitlines() if "=" in ln)
    proxy = "http://172.31.1.128:12798"  # read from the fake /etc/network_turbo, not baked in
    assert on["http_proxy"] == on["https_proxy"] == on["HTTP_PROXY"] == on["HTTPS_PROXY"] == proxy
    assert on["no_proxy"] == on["NO_PROXY"]
    members = set(on["no_proxy"].split(","))
    expected = {"localhost", "127.0.0.1", "::1", "tsinghua.edu.cn", "hf-mirror.com"}
    expected |= {"modelscope.cn", "aliyuncs.com", "nju.edu.cn"}
    assert expected | set(TURBO_NO_PROXY.split(",")) == members
    assert not any(m.startswith(("*", ".")) for m in members)
    assert not set(PROXY_VARS) & set(off)
    assert "REQUESTS_CA_BUNDLE" not in on  # only the proxy is taken from network_turbo


def test_turbo_on_without_a_known_proxy_needs_a_url(home, tmp_path):
    root = tmp_path / "bare-root"
    make_tree(root, "bare")
    _set_up(home, root)
    run = subprocess.run(
        ["bash", "-lc", "turbo_on; echo rc=$?; turbo_on http://10.1.2.3:3128 && echo $NO_PROXY"],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "rc=1" in run.stdout and "turbo_on http://HOST:PORT" in run.stderr
    assert "localhost,127.0.0.1,::1,tsinghua.edu.cn" in run.stdout


def test_env_file_is_posix_and_shellcheck_clean(home, autodl):
    _set_up(home, autodl)
    env_sh = home / ".config/kuaidi/env.sh"
    dash = subprocess.run(
        [require_binary("dash"), "-c", f'. "{env_sh}"; turbo_on; echo "$NO_PROXY"; turbo_off'],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert dash.returncode == 0 and "hf-mirror.com" in dash.stdout and dash.stderr == ""
    check = subprocess.run(
        [require_binary("shellcheck"), "-s", "sh", str(env_sh)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout


def test_sourcing_the_env_file_prints_nothing(home, autodl):
    _set_up(home, autodl)
    run = subprocess.run(
        ["bash", "-lc", "true"], env=clean_env(home), capture_output=True, text=True, timeout=30
    )
    assert (run.stdout, run.stderr) == ("", "")  # scp / rsync over ssh stay unbroken


def test_kuaidi_env_eval_sets_this_shell_only(home, autodl, monkeypatch, capsys):
    monkeypatch.setattr(os, "environ", cli_env(home))
    assert main(["env", "--root", str(autodl), "--pypi", "aliyun"]) == 0
    text = capsys.readouterr().out
    assert not (home / ".config").exists()
    env = _env_of(home, "-c", 'eval "$1"; env', "kuaidi-env", text)
    assert (
        env["PIP_INDEX_URL"] == env["UV_DEFAULT_INDEX"] == "https://mirrors.aliyun.com/pypi/simple"
    )
    assert env["HF_ENDPOINT"] == "https://hf-mirror.com"
    assert "aliyun.com" in text.split("KUAIDI_NO_PROXY=")[1].splitlines()[0]
    assert main(["env", "--root", str(autodl), "--shell", "fish"]) == 0
    fish = capsys.readouterr().out
    assert "set -gx HF_ENDPOINT 'https://hf-mirror.com'" in fish
    assert "function turbo_on" in fish and "function turbo_off" in fish
    assert "| source" in fish and 'eval "$(' not in fish  # regression: told fish to eval $(…)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_when_installed(home, autodl, shell, monkeypatch, capsys):
    # tools/system-deps.sh installs zsh and fish (CI runs this); elsewhere skip when absent.
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed")
    monkeypatch.setattr(os, "environ", cli_env(home))
    assert (
        main(["env", "--root", str(autodl), "--shell", "fish" if shell == "fish" else "bash"]) == 0
    )
    text = capsys.readouterr().out
    # Quoted: in fish an unquoted x$VAR of an erased variable expands to nothing at all.
    cmd = f'{text}\nturbo_on; echo $NO_PROXY; turbo_off; echo "x$NO_PROXY"'
    out = subprocess.run([binary, "-c", cmd], capture_output=True, text=True, timeout=30).stdout
    assert "hf-mirror.com" in out and "\nx\n" in out
