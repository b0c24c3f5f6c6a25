"""Each platform's fake tree: caches land on its data disk; its proxy drives turbo_on."""

import subprocess

import pytest

from kuaidi.setup import apply, plan
from tests.platforms.fake_trees import TREES, make_tree
from tests.setup.conftest import clean_env, options

CACHE_VARS = ("HF_HOME", "HF_HUB_CACHE", "MODELSCOPE_CACHE", "TORCH_HOME", "PIP_CACHE_DIR")


def _login_env(home):
    out = subprocess.run(
        ["bash", "-lc", "env"], env=clean_env(home), capture_output=True, text=True, timeout=30
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.mark.parametrize("name", sorted(TREES))
def test_caches_land_on_the_platforms_data_disk(tmp_path, home, name):
    root = tmp_path / "root"
    data_disk = make_tree(root, name)
    p = plan(options(home, root))
    assert p.context.platform.name == name
    apply(p)
    env = _login_env(home)
    for var in (*CACHE_VARS, "UV_CACHE_DIR", "CONDA_PKGS_DIRS", "HF_DATASETS_CACHE"):
        assert env[var].startswith(f"{data_disk}/"), (var, env[var])


def test_bare_box_without_a_data_disk_keeps_default_caches_and_says_so(tmp_path, home):
    root = tmp_path / "root"
    root.mkdir()
    p = plan(options(home, root))
    assert any("--data-disk" in w for w in p.warnings)
    apply(p)
    env = _login_env(home)
    assert env["HF_ENDPOINT"] == "https://hf-mirror.com"
    assert not set(CACHE_VARS) & set(env)


def test_data_disk_option_silences_the_no_data_disk_note(tmp_path, home):
    """Regression: 'caches on: X' was followed by 'no writable data disk … use --data-disk'."""
    root = tmp_path / "root"
    root.mkdir()
    disk = tmp_path / "big"
    disk.mkdir()
    p = plan(options(home, root, data_disk=disk))
    assert p.context.data_disk == disk
    assert not any("data disk" in w for w in p.warnings)


def test_data_disk_option_overrides_the_profile(tmp_path, home, autodl):
    disk = tmp_path / "big"
    disk.mkdir()
    apply(plan(options(home, autodl, data_disk=disk)))
    assert _login_env(home)["HF_HOME"] == f"{disk}/hf"


def test_gpushare_turbo_on_uses_its_fixed_proxy(tmp_path, home):
    root = tmp_path / "root"
    make_tree(root, "gpushare")
    apply(plan(options(home, root)))
    out = subprocess.run(
        ["bash", "-lc", 'turbo_on && echo "$HTTPS_PROXY $https_proxy"'],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert out.strip() == "http://turbo.gpushare.com:30000 http://turbo.gpushare.com:30000"
