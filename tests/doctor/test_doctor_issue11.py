"""doctor: the defects of issue 11 (bad input, output, the HF login left behind, partials)."""

from __future__ import annotations

from pathlib import Path

from kuaidi.doctor import Context as DoctorContext
from kuaidi.doctor import new_shell, run
from tests.platforms.fake_trees import make_tree
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
