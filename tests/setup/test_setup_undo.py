import os

import pytest

from kuaidi.cli import main
from kuaidi.errors import KuaidiError
from kuaidi.setup import apply, plan, undo
from tests.setup.conftest import cli_env, options, skel_home, snapshot


def _lived_in_home(home):
    """A HOME with the user's own files: Debian rc files, a commented pip.conf (mode 600)."""
    skel_home(home)
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(
        "# mine\n[global]\ntimeout = 30\nindex-url = http://mirrors.aliyun.com/pypi/simple\n"
    )
    conf.chmod(0o600)
    (home / ".condarc").write_text("# keep me\nauto_activate_base: false\n")


def test_second_run_changes_nothing(home, autodl):
    _lived_in_home(home)
    apply(plan(options(home, autodl)))
    after_first = snapshot(home)
    second = plan(options(home, autodl))
    assert second.empty and not second.changes
    assert apply(second).written == ()
    assert snapshot(home) == after_first


def test_undo_restores_every_file_byte_identical(home, autodl):
    _lived_in_home(home)
    before = snapshot(home)
    written = apply(plan(options(home, autodl))).written
    # pip, uv, conda, env, .bashrc (Debian ~/.profile reads ~/.bashrc), the IPython startup file
    assert len(written) == 6
    assert snapshot(home) != before
    result = undo(home)
    assert len(result.restored) == 3 and len(result.removed) == 3
    assert snapshot(home) == before  # bytes and modes, and no directory left behind


def test_undo_after_two_setups_with_different_mirrors_restores_the_original(home, autodl):
    _lived_in_home(home)
    before = snapshot(home)
    apply(plan(options(home, autodl, pypi="tuna")))
    apply(plan(options(home, autodl, pypi="ustc", hf="alpha-hf-mirror")))
    undo(home)
    assert snapshot(home) == before


def test_undo_refuses_a_file_edited_since_unless_forced(home, autodl):
    _lived_in_home(home)
    before = snapshot(home)
    apply(plan(options(home, autodl)))
    conf = home / ".config/pip/pip.conf"
    conf.write_text(conf.read_text() + "retries = 9\n")
    edited = snapshot(home)
    with pytest.raises(KuaidiError, match="changed since kuaidi setup wrote it") as err:
        undo(home)
    assert str(conf) in err.value.message and "--force" in (err.value.fix or "")
    assert snapshot(home) == edited  # all or nothing
    result = undo(home, force=True)
    assert len(result.kept_edits) == 1
    assert result.kept_edits[0].read_text().endswith("retries = 9\n")
    restored = snapshot(home)
    kept = {k for k in restored if k.startswith(".local")}
    assert {k: v for k, v in restored.items() if k not in kept} == before


def test_apply_refuses_when_a_file_changed_after_planning(home, autodl):
    p = plan(options(home, autodl, only=frozenset({"pip"})))
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\n")
    with pytest.raises(KuaidiError, match="changed since the plan"):
        apply(p)
    assert conf.read_text() == "[global]\n"


def test_cli_dry_run_setup_again_and_undo(home, autodl, monkeypatch, capsys):
    monkeypatch.setattr(os, "environ", cli_env(home))
    _lived_in_home(home)
    before = snapshot(home)
    args = ["setup", "--root", str(autodl)]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+index-url = https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple" in out
    assert "nothing written" in out and snapshot(home) == before
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    after = snapshot(home)
    assert main(args) == 0
    assert "already set up" in capsys.readouterr().out and snapshot(home) == after
    assert main(["setup", "--undo"]) == 0
    assert snapshot(home) == before
    assert main(["setup", "--undo"]) == 0
    assert "nothing to undo" in capsys.readouterr().out


def test_cli_bad_input_is_one_line_and_exit_2(home, autodl, monkeypatch, capsys):
    monkeypatch.setattr(os, "environ", cli_env(home))
    (home / ".condarc").write_text("channels: [a\n")
    assert main(["setup", "--root", str(autodl)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kuaidi: error: ") and "(fix: " in err and err.count("\n") == 1
    assert not (home / ".config").exists()


def test_unreadable_undo_record_is_a_clear_error(home, autodl):
    apply(plan(options(home, autodl, only=frozenset({"pip"}))))
    manifest = home / ".local/state/kuaidi/setup/manifest.json"
    manifest.write_text("{not json")
    with pytest.raises(KuaidiError, match=r"undo record .* is unreadable"):
        undo(home)


def test_console_script_round_trip(home, autodl):
    import subprocess

    from tests.setup.conftest import KUAIDI, clean_env

    skel_home(home)
    before = snapshot(home)

    def run(*args):
        return subprocess.run(
            [str(KUAIDI), *args], env=clean_env(home), capture_output=True, text=True, timeout=60
        )

    first = run("setup", "--root", str(autodl), "--pypi", "aliyun")
    assert first.returncode == 0, first.stderr
    assert "note: instances shut down for 15 days" in first.stdout  # what does not survive
    assert "already set up" in run("setup", "--root", str(autodl), "--pypi", "aliyun").stdout
    assert run("setup", "--force").returncode == 2  # --force without --undo
    assert run("setup", "--undo").returncode == 0
    assert snapshot(home) == before


def test_symlinked_rc_file_stays_a_link(home, autodl, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "bashrc").write_text("# my dotfiles\nalias ll='ls -l'\n")
    (home / ".bashrc").symlink_to(dotfiles / "bashrc")
    before = (dotfiles / "bashrc").read_bytes()
    apply(plan(options(home, autodl)))
    assert (home / ".bashrc").is_symlink()
    assert "# kuaidi" in (dotfiles / "bashrc").read_text()
    assert plan(options(home, autodl)).empty
    undo(home)
    assert (home / ".bashrc").is_symlink() and (dotfiles / "bashrc").read_bytes() == before
