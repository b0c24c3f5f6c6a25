"""doctor: the defects of issue 11 (bad input, output, the HF login left behind, partials)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kuaidi.doctor import Context as DoctorContext
from kuaidi.doctor import new_shell, run
from tests.platforms.fake_trees import make_tree
from tests.setup.conftest import KUAIDI, clean_env
from tests.setup.test_setup_hf_home import TOKEN, _kuaidi, _saved_login


def _box(tmp_path: Path) -> tuple[Path, Path]:
    home, root = tmp_path / "home", tmp_path / "root"
    home.mkdir()
    make_tree(root, "autodl")
    return home, root


def test_doctor_sees_a_login_left_at_the_old_hf_home(tmp_path):
    home, autodl = _box(tmp_path)
    token = _saved_login(home)
    data = autodl / "root/autodl-tmp"
    ctx = DoctorContext(environ={"HF_HOME": str(data / "hf")}, home=home, root=autodl)
    report = run(ctx, offline=True, only=["hf.token"])
    (finding,) = report.findings
    assert finding.check_id == "hf.token_left_behind"
    assert str(token) in finding.message and f"HF_TOKEN_PATH={token}" in finding.fix
    assert TOKEN not in str(finding.to_dict())
    assert finding.auto_fix is not None
    # the fix is what setup writes: a new shell sees HF_TOKEN_PATH and the check is quiet
    out = _kuaidi(home, "setup", "--root", str(autodl), "--only", "env,shell")
    assert out.returncode == 0, out.stderr
    assert not run(new_shell(ctx), offline=True, only=["hf.token"]).findings


def _doctor(home: Path, root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``kuaidi doctor`` as a user runs it, stdout a pipe (not a TTY), no COLUMNS."""
    return subprocess.run(
        [str(KUAIDI), "doctor", "--root", str(root), *args],
        env=clean_env(home, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--only", "nosuch"], "nosuch"),
        (["--only", "hf,nosuch"], "nosuch"),
        (["--timeout", "-5"], "-5"),
        (["--timeout", "0"], "0"),
    ],
)
def test_bad_input_exits_2_naming_the_value_and_the_valid_ones(tmp_path, args, named):
    home, root = _box(tmp_path)
    out = _doctor(home, root, "--offline", *args)
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr and "checks ran" not in out.stdout
    (line,) = [ln for ln in out.stderr.splitlines() if named in ln]
    assert ("hf, " in line and "live" in line) if "--only" in args else ("0<x" in line)


def test_one_fix_per_cause_naming_the_mirrors_setup_will_configure(tmp_path):
    home, root = _box(tmp_path)
    proxy = "http://10.0.0.1:3128"
    out = _doctor(home, root, "--offline", https_proxy=proxy, http_proxy=proxy)
    fixes = [ln for ln in out.stdout.splitlines() if "export no_proxy=" in ln]
    assert len(fixes) == 1, out.stdout  # it was printed once per finding (6 times)
    assert "hf-mirror.com" in fixes[0] and "tsinghua.edu.cn" in fixes[0]
    assert "fix:  the same as for proxy.no_proxy_missing above" in out.stdout  # loopback's


def test_a_dead_proxy_is_named_not_the_index_behind_it(tmp_path):
    home, root = _box(tmp_path)
    dead = "http://127.0.0.1:9"
    out = _doctor(home, root, "--only", "live", "--timeout", "2", https_proxy=dead)
    assert out.returncode == 1
    errors = [ln for ln in out.stdout.splitlines() if ln.startswith("ERROR")]
    assert errors == [
        f"ERROR   live.reachable  the proxy {dead} does not answer: every request through it "
        "fails (pip, uv)"
    ]
    assert "kuaidi probe" not in out.stdout


def test_fix_lists_the_new_state_then_what_it_fixed_last_and_never_wraps(tmp_path):
    deep = tmp_path / ("a-rather-long-directory-name-" * 3)
    deep.mkdir()
    home, root = _box(deep)
    out = _doctor(home, root, "--offline", "--fix")
    lines = out.stdout.splitlines()
    assert lines[1] == "after the fix, as a new shell will see it:"
    assert lines[-1] == "undo with: kuaidi setup --undo"
    env_line = f'. "{home}/.config/kuaidi/env.sh"'
    assert len(env_line) > 80 and lines[-2].endswith(env_line)  # whole, on one line
    summary = next(i for i, ln in enumerate(lines) if ln.startswith("fixed "))
    assert (
        lines[summary - 1].endswith(
            "checks ran: 0 errors, 0 warnings, 1 info; skipped (offline): live.reachable"
        )
        or "checks ran" in lines[summary - 1]
    )
    assert all(ln.startswith("  wrote ") for ln in lines[summary + 1 : -2])


def test_partials_include_kuaidis_own(tmp_path):
    home, root = _box(tmp_path)
    blobs = home / ".cache/huggingface/hub/models--org--m/blobs"
    blobs.mkdir(parents=True)
    (blobs / "e1.kuaidi-part").write_bytes(b"x" * 4096)
    (blobs / "e1.kuaidi-journal").write_bytes(b"j")
    (blobs / "e2.kuaidi-journal").write_bytes(b"j")  # its part is gone
    (blobs / "e3").write_bytes(b"done")
    ctx = DoctorContext(environ={}, home=home, root=root)
    (finding,) = run(ctx, offline=True, only=["cache.partials"]).findings
    assert finding.message.startswith("2 partial download(s)") and "org/m" in finding.message
    assert "models--org--m/blobs/e1.kuaidi-part (4096 bytes)" in finding.evidence
    assert "-name '*.kuaidi-*' -delete" in finding.fix
