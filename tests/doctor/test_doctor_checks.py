"""Each doctor check: one fake box that triggers it, one that does not."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kuaidi.doctor import REGISTRY, run
from tests.doctor.conftest import Box, GiB

PROXY = "http://172.31.1.128:12798"
TUNA = "https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple"
ALIYUN = "https://mirrors.aliyun.com/pypi/simple"


def ids(findings: list) -> list[str]:
    return [f.check_id for f in findings]


# -- hf -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [None, "https://huggingface.co", "https://huggingface.co/", "https://www.modelscope.cn"],
)
def test_hf_endpoint_triggers(bare: Box, value: str | None) -> None:
    if value:
        bare.environ["HF_ENDPOINT"] = value
    (finding,) = bare.findings("hf.endpoint")
    assert finding.severity == "error"
    assert finding.evidence == (f"HF_ENDPOINT={value or '<unset>'}",)
    assert finding.auto_fix is not None and "env" in finding.auto_fix.targets


def test_hf_endpoint_clean(bare: Box) -> None:
    bare.environ["HF_ENDPOINT"] = "https://hf-mirror.com"
    assert bare.findings("hf.endpoint") == []


def test_hf_xet_triggers_with_mirror(bare: Box) -> None:
    bare.environ["HF_ENDPOINT"] = "https://hf-mirror.com"
    (finding,) = bare.findings("hf.xet")
    assert finding.severity == "error" and finding.fix == "export HF_HUB_DISABLE_XET=1"
    # the fix keeps the user's endpoint
    assert finding.auto_fix.hf == "hf-mirror"


@pytest.mark.parametrize(
    "env",
    [
        {"HF_ENDPOINT": "https://hf-mirror.com", "HF_HUB_DISABLE_XET": "1"},
        {"HF_ENDPOINT": "https://hf-mirror.com", "HF_HUB_DISABLE_XET": "true"},
        {"HF_ENDPOINT": "https://huggingface.co"},  # Xet on the origin is fine
        {},
    ],
)
def test_hf_xet_clean(bare: Box, env: dict[str, str]) -> None:
    bare.environ.update(env)
    assert bare.findings("hf.xet") == []


@pytest.mark.parametrize(
    "value,hit", [("1", True), ("ON", True), ("true", True), ("0", False), ("", False)]
)
def test_hf_transfer(bare: Box, value: str, hit: bool) -> None:
    bare.environ["HF_HUB_ENABLE_HF_TRANSFER"] = value
    assert ids(bare.findings("hf.transfer")) == (["hf.transfer"] if hit else [])


# -- proxy ----------------------------------------------------------------------------------------


def test_proxy_without_no_proxy(bare: Box) -> None:
    bare.environ.update({"https_proxy": PROXY, "http_proxy": PROXY})
    (finding,) = bare.findings("proxy.no_proxy_missing")
    assert finding.severity == "error"
    assert "no_proxy=<unset>" in finding.evidence
    assert "localhost,127.0.0.1" in finding.fix and "NO_PROXY=" in finding.fix


@pytest.mark.parametrize(
    "env",
    [{}, {"https_proxy": PROXY, "no_proxy": "localhost"}, {"HTTPS_PROXY": PROXY, "NO_PROXY": "x"}],
)
def test_proxy_without_no_proxy_clean(bare: Box, env: dict[str, str]) -> None:
    bare.environ.update(env)
    assert bare.findings("proxy.no_proxy_missing") == []


def test_no_proxy_casings_disagree(bare: Box) -> None:
    bare.environ.update(
        {"https_proxy": PROXY, "no_proxy": "localhost,aliyun.com", "NO_PROXY": "localhost"}
    )
    (finding,) = bare.findings("proxy.no_proxy_casing")
    assert finding.severity == "warning"
    assert finding.evidence == ("no_proxy=localhost,aliyun.com", "NO_PROXY=localhost")


def test_no_proxy_one_casing_is_info(bare: Box) -> None:
    bare.environ.update({"https_proxy": PROXY, "no_proxy": "localhost"})
    (finding,) = bare.findings("proxy.no_proxy_casing")
    assert finding.severity == "info"


def test_no_proxy_casings_agree(bare: Box) -> None:
    bare.environ.update(
        {"https_proxy": PROXY, "no_proxy": "a.cn,localhost", "NO_PROXY": "localhost, a.cn"}
    )
    assert bare.findings("proxy.no_proxy_casing") == []


def test_no_proxy_wildcard(bare: Box) -> None:
    bare.environ.update(
        {"no_proxy": "localhost,*.aliyun.com", "NO_PROXY": "localhost,*.aliyun.com"}
    )
    (finding,) = bare.findings("proxy.no_proxy_wildcard")
    assert "*.aliyun.com" in finding.evidence[0]
    assert "aliyun.com" in finding.fix and "*." not in finding.fix
    bare.environ.update({"no_proxy": "localhost,.aliyun.com", "NO_PROXY": "aliyun.com"})
    assert bare.findings("proxy.no_proxy_wildcard") == []


def test_no_proxy_cidr(bare: Box) -> None:
    bare.environ.update({"no_proxy": "localhost,10.0.0.0/8"})
    (finding,) = bare.findings("proxy.no_proxy_cidr")
    assert finding.evidence == ("no_proxy has 10.0.0.0/8",)
    bare.environ.update({"no_proxy": "localhost,10.0.0.1"})
    assert bare.findings("proxy.no_proxy_cidr") == []


def test_loopback_missing(bare: Box) -> None:
    bare.environ.update({"https_proxy": PROXY, "http_proxy": PROXY, "no_proxy": "localhost"})
    (finding,) = bare.findings("proxy.loopback")
    assert finding.evidence[0].startswith("http://127.0.0.1:8000/: requests/pip → proxy")
    bare.environ["no_proxy"] = "localhost,127.0.0.1"
    assert bare.findings("proxy.loopback") == []


def test_mirror_route_shown_per_family(bare: Box) -> None:
    """Families disagree: lowercase no_proxy covers the mirror; NO_PROXY (uv reads it first) not."""
    bare.write("~/.config/pip/pip.conf", f"[global]\nindex-url = {ALIYUN}\n")
    bare.environ.update(
        {
            "https_proxy": PROXY,
            "HTTPS_PROXY": PROXY,
            "no_proxy": "localhost,aliyun.com",
            "NO_PROXY": "localhost",
        }
    )
    (finding,) = bare.findings("proxy.mirror_route")
    assert finding.severity == "error"
    assert "mirrors.aliyun.com" in finding.message and finding.message.endswith("for uv")
    assert "requests/pip: direct" in finding.evidence
    assert "httpx/huggingface_hub: direct" in finding.evidence
    assert "curl: direct" in finding.evidence
    assert f"uv: proxy {PROXY}" in finding.evidence


def test_mirror_route_clean(bare: Box) -> None:
    bare.write("~/.config/pip/pip.conf", f"[global]\nindex-url = {ALIYUN}\n")
    value = "localhost,127.0.0.1,aliyun.com"
    bare.environ.update({"https_proxy": PROXY, "no_proxy": value, "NO_PROXY": value})
    assert bare.findings("proxy.mirror_route") == []


def test_mirror_route_glob_is_not_enough(bare: Box) -> None:
    """'*.aliyun.com' looks right and is not: requests and httpx 0.28 still proxy the mirror."""
    bare.write("~/.config/pip/pip.conf", f"[global]\nindex-url = {ALIYUN}\n")
    bare.environ.update(
        {"https_proxy": PROXY, "no_proxy": "*.aliyun.com", "NO_PROXY": "*.aliyun.com"}
    )
    (finding,) = bare.findings("proxy.mirror_route")
    assert f"requests/pip: proxy {PROXY}" in finding.evidence
    assert f"httpx/huggingface_hub: proxy {PROXY}" in finding.evidence


# -- pip / uv / conda ------------------------------------------------------------


def test_pip_global_proxy(bare: Box) -> None:
    path = bare.write(
        "~/.config/pip/pip.conf", f"[global]\nindex-url = {TUNA}\nproxy = http://10.9.9.9:3128\n"
    )
    (finding,) = bare.findings("pip.proxy")
    assert finding.severity == "error"
    assert str(path) in finding.evidence[0] and "unset global.proxy" in finding.fix


def test_pip_proxy_from_env(bare: Box) -> None:
    bare.environ["PIP_PROXY"] = "http://10.9.9.9:3128"
    (finding,) = bare.findings("pip.proxy")
    assert finding.fix == "unset PIP_PROXY"


def test_pip_no_proxy_setting(bare: Box) -> None:
    bare.write("~/.config/pip/pip.conf", f"[global]\nindex-url = {TUNA}\n")
    assert bare.findings("pip.proxy") == []


def test_pip_index_origin(bare: Box) -> None:
    (finding,) = bare.findings("pip.index")
    assert "pip and uv download from the origin PyPI" in finding.message
    assert finding.auto_fix.targets == ("pip", "uv")


def test_pip_index_mirrored(autodl: Box) -> None:
    autodl.good_env()
    assert autodl.findings("pip.index") == []


def test_pip_uv_disagree(bare: Box) -> None:
    bare.write("~/.config/pip/pip.conf", f"[global]\nindex-url = {TUNA}\n")
    bare.environ["UV_DEFAULT_INDEX"] = ALIYUN
    (finding,) = bare.findings("mirrors.agree")
    assert finding.severity == "warning"
    assert finding.auto_fix.pypi == TUNA and finding.auto_fix.targets == ("pip", "uv")


def test_site_pip_conf_beats_user_file(autodl: Box) -> None:
    """The conda base's pip.conf (pip's site file) wins over the user file."""
    autodl.good_env()
    autodl.write("/root/miniconda3/pip.conf", f"[global]\nindex-url = {ALIYUN}\n")
    (finding,) = autodl.findings("mirrors.agree")
    assert f"pip: {ALIYUN}" in finding.evidence[0]


def test_pip_uv_conda_agree(autodl: Box) -> None:
    autodl.good_env()
    autodl.write(
        "~/.condarc",
        "default_channels:\n  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main\n",
    )
    assert autodl.findings("mirrors.agree") == []


def test_conda_other_site_is_info(autodl: Box) -> None:
    autodl.good_env()
    autodl.write(
        "~/.condarc", "default_channels:\n  - https://mirrors.ustc.edu.cn/anaconda/pkgs/main\n"
    )
    (finding,) = autodl.findings("mirrors.agree")
    assert finding.severity == "info"


def test_conda_nightly_mirrored(bare: Box) -> None:
    bare.write(
        "~/.condarc",
        "custom_channels:\n  pytorch: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n"
        "  pytorch-nightly: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n",
    )
    (finding,) = bare.findings("conda.nightly")
    assert "custom_channels.pytorch-nightly" in finding.evidence[0]
    assert "--remove-key custom_channels.pytorch-nightly" in finding.fix


def test_conda_nightly_channel_url(bare: Box) -> None:
    bare.write(
        "~/.condarc", "channels:\n  - https://mirrors.bfsu.edu.cn/anaconda/cloud/pytorch-nightly\n"
    )
    assert ids(bare.findings("conda.nightly")) == ["conda.nightly"]


def test_conda_nightly_clean(bare: Box) -> None:
    bare.write(
        "~/.condarc",
        "channels:\n  - pytorch-nightly\n  - defaults\n"
        "custom_channels:\n  pytorch: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n",
    )
    assert bare.findings("conda.nightly") == []


def test_conda_channel_alias(bare: Box) -> None:
    bare.write("~/.condarc", "channel_alias: https://mirrors.tuna.tsinghua.edu.cn/anaconda\n")
    assert ids(bare.findings("conda.channel_alias")) == ["conda.channel_alias"]
    bare.write("~/.condarc", "channel_alias: https://conda.anaconda.org\n")
    assert bare.findings("conda.channel_alias") == []


# -- AutoDL network_turbo ----------------------------------------------------------------------


def test_turbo_sourced_in_bashrc(autodl: Box) -> None:
    autodl.write("~/.bashrc", "# rc\nexport A=1\nsource /etc/network_turbo\n")
    (finding,) = autodl.findings("turbo.global")
    assert finding.evidence[0].endswith(".bashrc:3: source /etc/network_turbo")
    assert finding.fix.startswith(f"sed -i '3d' {autodl.home / '.bashrc'}")


def test_turbo_on_in_this_shell(autodl: Box) -> None:
    autodl.environ.update({"http_proxy": PROXY, "https_proxy": PROXY})
    (finding,) = autodl.findings("turbo.global")
    assert finding.evidence == (f"this shell has http_proxy, https_proxy={PROXY}",)


def test_turbo_not_global(autodl: Box, bare: Box) -> None:
    autodl.write("~/.bashrc", "# rc\nturbo_on() { :; }\n")
    assert autodl.findings("turbo.global") == []
    bare.write("~/.bashrc", "source /etc/network_turbo\n")  # no turbo file on this box
    assert bare.findings("turbo.global") == []


def test_turbo_whitelist_misses_mirrors(autodl: Box) -> None:
    autodl.good_env()
    (finding,) = autodl.findings("turbo.whitelist")
    assert finding.severity == "warning"
    text = "\n".join(finding.evidence)
    assert "pip mirrors.tuna.tsinghua.edu.cn: proxied for requests, httpx, curl, uv" in text
    assert "hf hf-mirror.com" in text
    assert finding.auto_fix is not None


def test_turbo_whitelist_covers_mirrors(autodl: Box) -> None:
    # AutoDL's in-cloud Aliyun mirror is under aliyuncs.com, which the turbo file exempts.
    internal = "http://mirrors.cloud.aliyuncs.com/pypi/simple"
    autodl.write("~/.config/pip/pip.conf", f"[global]\nindex-url = {internal}\n")
    autodl.environ["UV_DEFAULT_INDEX"] = internal
    assert autodl.findings("turbo.whitelist") == []


# -- disks ----------------------------------------------------------------------------------------


def test_caches_on_system_disk(autodl: Box) -> None:
    found = autodl.findings("disks.cache_location")
    names = {f.evidence[0].split(" cache:")[0]: f.severity for f in found}
    assert names == {
        "Hugging Face": "error",
        "ModelScope": "error",
        "torch": "error",
        "pip": "warning",
        "uv": "warning",
    }


def test_conda_pkgs_on_system_disk(autodl: Box) -> None:
    (autodl.root / "root/miniconda3/conda-meta").mkdir(parents=True)
    autodl.good_env()
    del autodl.environ["CONDA_PKGS_DIRS"]
    (finding,) = autodl.findings("disks.cache_location")
    assert "root/miniconda3/pkgs" in finding.evidence[0]


def test_caches_on_data_disk(autodl: Box) -> None:
    autodl.good_env()
    assert autodl.findings("disks.cache_location") == []


def test_cache_symlinked_to_data_disk(autodl: Box) -> None:
    autodl.good_env()
    del autodl.environ["HF_HOME"]
    (autodl.data() / "hf").mkdir()
    (autodl.home / ".cache").mkdir()
    (autodl.home / ".cache/huggingface").symlink_to(autodl.data() / "hf")
    assert autodl.findings("disks.cache_location") == []


def test_no_data_disk_no_finding(bare: Box) -> None:
    assert bare.findings("disks.cache_location") == []


def _vfs(free_gib: float, files: int, favail: int):
    return lambda path: SimpleNamespace(
        f_bavail=int(free_gib * GiB) // 4096,
        f_frsize=4096,
        f_blocks=30 * GiB // 4096,
        f_files=files,
        f_favail=favail,
    )


def test_disk_nearly_full(bare: Box) -> None:
    found = bare.findings("disks.free", statvfs=_vfs(0.5, 1_000_000, 900_000))
    assert [f.severity for f in found] == ["error"]
    assert "0.5 GiB free of 30.0 GiB" in found[0].evidence[0]


def test_inodes_exhausted_while_bytes_free(bare: Box) -> None:
    """`df -h` says 66 % free; `df -i` says 100 % used."""
    (finding,) = bare.findings("disks.free", statvfs=_vfs(20, 1_000_000, 12))
    assert finding.severity == "error" and "inodes" in finding.message
    assert "12 of 1000000 inodes free" in finding.evidence[0]


def test_disk_space_fine(bare: Box) -> None:
    assert bare.findings("disks.free", statvfs=_vfs(200, 1_000_000, 900_000)) == []
    assert bare.findings("disks.free", statvfs=_vfs(200, 0, 0)) == []  # no inode limit (btrfs)


def test_incomplete_partials(autodl: Box) -> None:
    autodl.good_env()
    blobs = autodl.data() / "hf/hub/models--org--tiny/blobs"
    blobs.mkdir(parents=True)
    (blobs / "abc123.incomplete").write_bytes(b"x" * 2048)
    (blobs / "def456").write_bytes(b"done")
    (finding,) = autodl.findings("cache.partials")
    assert "1 partial download(s)" in finding.message and "org/tiny" in finding.message
    assert "-name '*.incomplete' -delete" in finding.fix


def test_no_partials(autodl: Box) -> None:
    autodl.good_env()
    (autodl.data() / "hf/hub/models--org--tiny/blobs").mkdir(parents=True)
    assert autodl.findings("cache.partials") == []


# -- shell start-up files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "source ~/.bashrc",
        '. "$HOME/.bashrc"',
        "[ -f ~/.bashrc ] && . ~/.bashrc",
        "source ${HOME}/.bashrc",
    ],
)
def test_bashrc_sources_itself(bare: Box, line: str) -> None:
    path = bare.write("~/.bashrc", f"# rc\nexport X=1\n{line}\n")
    (finding,) = bare.findings("shellrc.self_source")
    assert finding.severity == "error" and finding.fix == f"sed -i '3d' {path}"


def test_bashrc_sources_itself_by_absolute_path(autodl: Box) -> None:
    autodl.write("~/.bashrc", "source /root/.bashrc\n")
    assert ids(autodl.findings("shellrc.self_source")) == ["shellrc.self_source"]


def test_bashrc_profile_cycle(bare: Box) -> None:
    bare.write("~/.bash_profile", "source ~/.bashrc\n")
    bare.write("~/.bashrc", "source ~/.bash_profile\n")
    assert len(bare.findings("shellrc.self_source")) == 2


def test_bashrc_exec_bash(bare: Box) -> None:
    bare.write("~/.bashrc", "exec bash\n")
    assert ids(bare.findings("shellrc.self_source")) == ["shellrc.self_source"]


def test_debian_profile_is_not_a_cycle(bare: Box) -> None:
    bare.write("~/.profile", 'if [ -f "$HOME/.bashrc" ]; then\n    . "$HOME/.bashrc"\nfi\n')
    bare.write(
        "~/.bashrc",
        "# comment: source ~/.bashrc\n"
        '[ -f "$HOME/.config/kuaidi/env.sh" ] && . "$HOME/.config/kuaidi/env.sh"  # kuaidi\n',
    )
    assert bare.findings("shellrc.self_source") == []


def test_rc_overrides_kuaidi_env(bare: Box) -> None:
    bare.write("~/.config/kuaidi/env.sh", 'export HF_ENDPOINT="https://hf-mirror.com"\n')
    line = '[ -f "$HOME/.config/kuaidi/env.sh" ] && . "$HOME/.config/kuaidi/env.sh"  # kuaidi'
    bare.write("~/.bashrc", f"{line}\nexport HF_ENDPOINT=https://huggingface.co\n")
    (finding,) = bare.findings("shellrc.override")
    assert finding.fix.startswith("sed -i '2d'")
    bare.write("~/.bashrc", f"export HF_ENDPOINT=https://huggingface.co\n{line}\n")
    assert bare.findings("shellrc.override") == []


# -- the registry --------------------------------------------------------------------------------


def test_every_check_is_exercised_here() -> None:
    """Guard: a new check needs its trigger / no-trigger tests (this file or test_doctor_live)."""
    import pathlib

    here = pathlib.Path(__file__).parent
    dirs = (here, here.parent / "notebook")  # the Jupyter check is tested with real kernels
    text = "".join(p.read_text() for d in dirs for p in d.glob("test_*.py"))
    missing = [cid for cid in REGISTRY if f'"{cid}"' not in text]
    assert missing == []


def test_clean_box_has_no_findings(autodl: Box) -> None:
    """A box set up the way kuaidi intends: no error, no warning from any check."""
    autodl.good_env()
    autodl.write("~/.config/kuaidi/env.sh", "# kuaidi\n")  # turbo_on exists
    report = run(autodl.context())
    assert [(f.check_id, f.severity) for f in report.findings] == [("turbo.whitelist", "info")]
    assert report.exit_code == 0


def test_turbo_inside_a_function_is_not_global(autodl: Box) -> None:
    autodl.write(
        "~/.bashrc",
        "turbo() {\n    source /etc/network_turbo\n}\nfunction t2\n{\n  . /etc/network_turbo\n}\n",
    )
    assert autodl.findings("turbo.global") == []


def test_kuaidi_turbo_on_is_not_global(autodl: Box) -> None:
    """turbo_on exports the same proxy with kuaidi's no_proxy: scoped use, not a leftover."""
    autodl.environ.update(
        {"http_proxy": PROXY, "https_proxy": PROXY, "no_proxy": "localhost,127.0.0.1,hf-mirror.com"}
    )
    assert autodl.findings("turbo.global") == []


def test_unreadable_config_is_reported(bare: Box) -> None:
    bare.write("~/.config/pip/pip.conf", "index-url = no section header\n")
    report = run(bare.context(), only=["pip.index"])
    assert ("config.unreadable", "warning") in [(f.check_id, f.severity) for f in report.findings]


def test_bashrc_sources_itself_inside_an_if(bare: Box) -> None:
    bare.write("~/.bashrc", "if [ -f ~/.bashrc ]; then\n    source ~/.bashrc\nfi\n")
    assert ids(bare.findings("shellrc.self_source")) == ["shellrc.self_source"]


def test_reload_helper_is_not_recursion(bare: Box) -> None:
    bare.write(
        "~/.bashrc",
        "reload() {\n    source ~/.bashrc\n}\nalias rl='source ~/.bashrc'\nr2() { . ~/.bashrc; }\n",
    )
    assert bare.findings("shellrc.self_source") == []


def test_trusted_host_on_https_mirror(bare: Box) -> None:
    """matools-style pip.conf: an HTTPS mirror in trusted-host turns TLS verification off."""
    bare.write(
        "~/.pip/pip.conf",
        f"[global]\nindex-url = {ALIYUN}\ntrusted-host = mirrors.aliyun.com\n",
    )
    (finding,) = bare.findings("pip.trusted_host")
    assert "mirrors.aliyun.com" in finding.message
    assert ".pip/pip.conf" in finding.evidence[0]


def test_trusted_host_for_plain_http_mirror(bare: Box) -> None:
    bare.write(
        "~/.config/pip/pip.conf",
        "[global]\nindex-url = http://mirrors.aliyun.com/pypi/simple\n"
        "trusted-host = mirrors.aliyun.com\n",
    )
    assert bare.findings("pip.trusted_host") == []


def test_credentials_are_never_shown(bare: Box) -> None:
    bare.write(
        "~/.config/pip/pip.conf",
        "[global]\nindex-url = https://bob:idx-s3cret@pypi.corp.example/simple\n"
        "proxy = http://bob:px-s3cret@10.9.9.9:3128\n",
    )
    bare.environ.update({"https_proxy": "http://alice:env-s3cret@10.0.0.1:3128"})
    report = run(bare.context())
    text = repr([f.to_dict() for f in report.findings])
    assert "s3cret" not in text
    assert "http://***@10.9.9.9:3128" in text
