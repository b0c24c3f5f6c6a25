import json

import pytest

from kuaidi.cli import main
from kuaidi.errors import KuaidiError
from kuaidi.platforms import detect
from tests.platforms.fake_trees import TREES, make_tree


@pytest.mark.parametrize("name", sorted(TREES))
def test_each_fake_tree_is_detected_with_its_data_disk(tmp_path, name):
    data_disk = make_tree(tmp_path, name)
    p = detect(tmp_path, {})
    assert p.name == name
    assert p.data_disk == data_disk
    assert p.system_disk == tmp_path
    if name != "bare":
        assert p.signals, "a detected platform names the signals that matched"


def test_empty_tree_is_a_bare_box_without_data_disk(tmp_path):
    p = detect(tmp_path, {})
    assert (p.name, p.signals, p.data_disk) == ("bare", (), None)
    assert any("--data-disk" in w for w in p.warnings)


def test_autodl_by_environment_variable_alone(tmp_path):
    p = detect(tmp_path, {"AutoDLContainerUUID": "abc"})
    assert p.name == "autodl"
    assert p.signals == ("env AutoDLContainerUUID",)
    assert p.data_disk == tmp_path / "root/autodl-tmp"
    assert any("does not exist" in w for w in p.warnings)


def test_autodl_by_hostname(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hostname").write_text("autodl-container-1a2b3c-4d5e6f\n")
    assert detect(tmp_path, {}).signals == ("hostname autodl-container-1a2b3c-4d5e6f",)


def test_openbayes_env_beats_a_stray_directory(tmp_path):
    (tmp_path / "hy-tmp").mkdir()  # one weak GPUShare marker
    p = detect(tmp_path, {"OPENBAYES_JOB_URL": "https://openbayes.com/x"})
    assert p.name == "openbayes"


def test_matpool_needs_both_markers(tmp_path):
    (tmp_path / "mnt").mkdir()  # every Debian box has /mnt
    assert detect(tmp_path, {}).name == "bare"
    (tmp_path / "root/miniconda3/envs/myconda").mkdir(parents=True)
    assert detect(tmp_path, {}).name == "matpool"


def test_fake_root_ignores_the_callers_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AutoDLRegion", "west-1")
    assert detect(tmp_path).name == "bare"  # environ defaults to {} under a fake root


def test_bare_box_skips_disks_without_free_inodes(tmp_path, monkeypatch):
    make_tree(tmp_path, "bare")
    import kuaidi.platforms.disks as disks

    monkeypatch.setattr(disks, "MIN_FREE_INODES", 10**15)
    p = detect(tmp_path, {})
    assert p.data_disk is None
    assert any("inodes" in w for w in p.warnings)


def test_autodl_proxy_points_at_network_turbo(tmp_path):
    make_tree(tmp_path, "autodl")
    p = detect(tmp_path, {})
    assert p.proxy is not None
    assert p.proxy.kind == "network_turbo"
    assert p.proxy.source == tmp_path / "etc/network_turbo"
    assert any("autodl-fs" in s.path for s in p.storage)


def test_named_platform_and_unknown_name(tmp_path):
    assert detect(tmp_path, {}, name="Featurize").name == "featurize"
    with pytest.raises(KuaidiError, match="unknown platform"):
        detect(tmp_path, {}, name="colab")


def test_cli_platform_json_and_text(tmp_path, capsys):
    make_tree(tmp_path, "gpushare")
    assert main(["platform", "--root", str(tmp_path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == "gpushare"
    assert shown["data_disk"] == str(tmp_path / "hy-tmp")
    assert shown["proxy"]["url"] == "http://turbo.gpushare.com:30000"
    assert main(["platform", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "恒源云" in out and "24 h" in out


def test_autodl_proxy_url_is_parsed_by_kuaidi_net(tmp_path):
    pytest.importorskip("kuaidi.net.turbo")
    make_tree(tmp_path, "autodl")
    proxy = detect(tmp_path, {}).proxy
    assert proxy is not None and proxy.url == "http://172.31.1.128:12798"
    assert "modelscope.com" in proxy.no_proxy and "localhost" in proxy.no_proxy


def test_malformed_network_turbo_is_reported_not_raised(tmp_path):
    pytest.importorskip("kuaidi.net.turbo")
    make_tree(tmp_path, "autodl")
    (tmp_path / "etc/network_turbo").write_text("echo 设置成功\n")
    p = detect(tmp_path, {})
    assert p.name == "autodl" and p.proxy is not None and p.proxy.url is None
    assert "network_turbo" in p.proxy.note


def test_bare_box_picks_the_largest_real_mount(tmp_path, monkeypatch):
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/mounts").write_text(
        "/dev/vdc /tmp ext4 rw 0 0\n/dev/vdb /small xfs rw 0 0\n/dev/vdd /big xfs rw 0 0\n"
    )
    for d in ("tmp", "small", "big"):
        (tmp_path / d).mkdir()
    import os as real_os

    import kuaidi.platforms.disks as disks

    true_statvfs = real_os.statvfs

    class Fake:
        def __init__(self, free):
            st = true_statvfs(tmp_path)
            self.f_frsize, self.f_bavail = st.f_frsize, free
            self.f_files, self.f_favail = 10**6, 10**6

    sizes = {"tmp": 10**9, "small": 10**6, "big": 10**7}
    monkeypatch.setattr(disks.os, "statvfs", lambda p: Fake(sizes[real_os.path.basename(p)]))
    assert detect(tmp_path, {}).data_disk == tmp_path / "big"  # /tmp is never chosen
