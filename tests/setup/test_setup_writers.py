import pytest
import tomlkit
from ruamel.yaml import YAML

from kuaidi.errors import KuaidiError
from kuaidi.mirrors import KINDS, catalog, default, find
from kuaidi.setup import DOMESTIC_NO_PROXY, apply, no_proxy_members, plan
from tests.setup.conftest import options, snapshot

TUNA = "https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple"


def _written(home, root, **kw):
    apply(plan(options(home, root, **kw)))


def test_fresh_home_gets_every_file(home, autodl):
    _written(home, autodl)
    pip_conf = (home / ".config/pip/pip.conf").read_text()
    assert pip_conf == f"[global]\nindex-url = {TUNA}\n"
    uv = tomlkit.parse((home / ".config/uv/uv.toml").read_text()).unwrap()
    assert uv["index"] == [{"url": TUNA, "default": True}]
    assert uv["python-install-mirror"] == default("python").url
    condarc = YAML(typ="safe").load((home / ".condarc").read_text())
    assert condarc["channels"] == ["defaults"]
    assert condarc["show_channel_urls"] is True
    assert condarc["default_channels"][0].endswith("/anaconda/pkgs/main")
    assert set(condarc["custom_channels"]) == {"conda-forge", "pytorch"}
    assert "channel_alias" not in condarc
    env_sh = (home / ".config/kuaidi/env.sh").read_text()
    data = autodl / "root/autodl-tmp"
    for line in (
        'export HF_ENDPOINT="https://hf-mirror.com"',
        'export HF_HUB_DISABLE_XET="1"',
        'export HF_HUB_ENABLE_HF_TRANSFER="0"',
        f'export HF_HOME="{data}/hf"',
        f'export HF_HUB_CACHE="{data}/hf/hub"',
        f'export MODELSCOPE_CACHE="{data}/modelscope"',
        f'export TORCH_HOME="{data}/torch"',
        f'export PIP_CACHE_DIR="{data}/pip"',
        f'export CONDA_PKGS_DIRS="{data}/conda/pkgs"',
    ):
        assert line in env_sh.splitlines()


def test_pip_conf_keeps_comments_and_other_keys(home, autodl):
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    old = (
        "# my pip settings\n[global]\ntimeout = 60  \n"
        "index-url = http://mirrors.aliyun.com/pypi/simple\n"
        "trusted-host = mirrors.aliyun.com\n\n[install]\nuser = true\n"
    )
    conf.write_text(old)
    change = plan(options(home, autodl, only=frozenset({"pip"}))).changes[0]
    assert change.new == old.replace("http://mirrors.aliyun.com/pypi/simple", TUNA)
    assert "-index-url = http://mirrors.aliyun.com/pypi/simple" in change.diff
    assert sum(1 for ln in change.diff.splitlines() if ln[:1] in "+-") == 4  # 2 headers + 1 swap


def test_pip_index_url_spelling_and_missing_section(home, autodl):
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[install]\nuser = true")  # no trailing newline, no [global]
    p = plan(options(home, autodl, only=frozenset({"pip"}), pypi="aliyun"))
    assert p.changes[0].new == (
        "[install]\nuser = true\n\n[global]\nindex-url = https://mirrors.aliyun.com/pypi/simple\n"
    )
    conf.write_text("[global]\nindex_url = https://old/simple\n")
    new = plan(options(home, autodl, only=frozenset({"pip"}))).changes[0].new
    assert new == f"[global]\nindex-url = {TUNA}\n"


def test_https_mirror_gets_no_trusted_host_but_plain_http_does(home, autodl):
    new = plan(options(home, autodl, only=frozenset({"pip"}))).changes[0].new
    assert "trusted-host" not in new
    new = plan(options(home, autodl, only=frozenset({"pip"}), pypi="http://10.0.0.5/simple"))
    assert "trusted-host = 10.0.0.5\n" in new.changes[0].new
    loop = plan(options(home, autodl, only=frozenset({"pip"}), pypi="http://127.0.0.1:9/simple"))
    assert "trusted-host" not in loop.changes[0].new


def test_legacy_pip_conf_and_env_overrides_are_warned(home, autodl):
    (home / ".pip").mkdir()
    (home / ".pip/pip.conf").write_text("[global]\ntrusted-host = x\n")
    env = {"PIP_INDEX_URL": "https://x/simple", "UV_DEFAULT_INDEX": "https://x/simple"}
    warnings = plan(options(home, autodl, environ=env)).warnings
    assert any("legacy" in w for w in warnings)
    assert any("PIP_INDEX_URL" in w for w in warnings)
    assert any("UV_DEFAULT_INDEX" in w for w in warnings)


def test_config_file_variables_are_honoured(home, autodl, tmp_path):
    env = {
        "PIP_CONFIG_FILE": str(tmp_path / "forced-pip.conf"),
        "UV_CONFIG_FILE": str(tmp_path / "forced-uv.toml"),
        "CONDARC": str(tmp_path / "forced.condarc"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    paths = {c.path for c in plan(options(home, autodl, environ=env)).changes}
    assert tmp_path / "forced-pip.conf" in paths
    assert tmp_path / "forced-uv.toml" in paths
    assert tmp_path / "forced.condarc" in paths
    assert tmp_path / "xdg/kuaidi/env.sh" in paths
    line = (plan(options(home, autodl, environ=env)).changes[-2]).new  # .bashrc
    assert str(tmp_path / "xdg/kuaidi/env.sh") in line
    devnull = plan(options(home, autodl, environ={"PIP_CONFIG_FILE": "/dev/null"}))
    assert not [c for c in devnull.changes if c.target == "pip"]


def test_uv_toml_keeps_the_users_settings(home, autodl):
    path = home / ".config/uv/uv.toml"
    path.parent.mkdir(parents=True)
    old = (
        '# my uv\nnative-tls = true\n\n[[index]]\nname = "internal"\n'
        'url = "https://pypi.internal/simple"\n\n[pip]\nsystem = true\n'
    )
    path.write_text(old)
    new = plan(options(home, autodl, only=frozenset({"uv"}))).changes[0].new
    assert new.startswith("# my uv\nnative-tls = true\n")
    data = tomlkit.parse(new).unwrap()
    assert data["native-tls"] is True and data["pip"] == {"system": True}
    assert data["index"] == [
        {"name": "internal", "url": "https://pypi.internal/simple"},
        {"url": TUNA, "default": True},
    ]
    path.write_text(new)
    assert plan(options(home, autodl, only=frozenset({"uv"}))).empty


def test_uv_legacy_index_url_is_edited_not_duplicated(home, autodl):
    path = home / ".config/uv/uv.toml"
    path.parent.mkdir(parents=True)
    path.write_text('index-url = "https://old/simple"\n')
    data = tomlkit.parse(
        plan(options(home, autodl, only=frozenset({"uv"}))).changes[0].new
    ).unwrap()
    assert data["index-url"] == TUNA and "index" not in data


def test_condarc_keeps_comments_channels_and_never_maps_nightly(home, autodl):
    old = (
        "# conda settings\nchannels:\n  - conda-forge  # first\n  - defaults\n"
        "auto_activate_base: false\ncustom_channels:\n  bioconda: https://x/cloud\n"
    )
    (home / ".condarc").write_text(old)
    new = plan(options(home, autodl, only=frozenset({"conda"}))).changes[0].new
    assert new.startswith("# conda settings\nchannels:\n  - conda-forge  # first\n  - defaults\n")
    data = YAML(typ="safe").load(new)
    assert data["auto_activate_base"] is False
    assert data["custom_channels"]["bioconda"] == "https://x/cloud"
    assert "channel_alias" not in data
    assert not any("nightly" in k for k in data["custom_channels"])


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".config/pip/pip.conf", "[global\nindex-url = x\n"),
        (".config/pip/pip.conf", "[global]\na = 1\n[global]\nb = 2\n"),
        (".config/uv/uv.toml", "[[index]\nurl = \n"),
        (".condarc", "channels: [defaults\n  bad: : :\n"),
        (".condarc", "- just\n- a list\n"),
    ],
)
def test_malformed_file_is_a_clear_error_and_nothing_is_written(home, autodl, name, text):
    path = home / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    before = snapshot(home)
    with pytest.raises(KuaidiError) as err:
        plan(options(home, autodl))
    assert str(path) in err.value.message and "nothing was written" in (err.value.fix or "")
    assert snapshot(home) == before


def test_mirror_choice_by_name_and_url(home, autodl):
    p = plan(options(home, autodl, pypi="USTC", hf="https://alpha.hf-mirror.com/", conda="bfsu"))
    texts = {c.target: c.new for c in p.changes}
    assert "https://mirrors.ustc.edu.cn/pypi/simple" in texts["pip"]
    assert 'HF_ENDPOINT="https://alpha.hf-mirror.com"' in texts["env"]
    assert "https://mirrors.bfsu.edu.cn/anaconda/pkgs/main" in texts["conda"]
    with pytest.raises(KuaidiError, match="unknown pypi mirror 'nope'"):
        plan(options(home, autodl, pypi="nope"))
    with pytest.raises(KuaidiError, match="unknown setup target"):
        plan(options(home, autodl, only=frozenset({"pip", "npm"})))


def test_catalog_is_well_formed():
    for kind in KINDS:
        names = [m.name for m in catalog(kind)]
        assert len(names) == len(set(names))
        assert default(kind).kind == kind
    assert {"tuna", "aliyun", "ustc", "tencent", "huawei", "bfsu", "nju", "sjtu"} <= {
        m.name for m in catalog("pypi")
    }
    assert {"tuna", "ustc", "bfsu", "sjtu"} <= {m.name for m in catalog("conda")}
    assert all(m.url.startswith("https://") and m.no_proxy for m in catalog())
    assert find("pypi", TUNA + "/").name == "tuna"
    custom = find("pypi", "http://127.0.0.1:8080/simple/")
    assert (custom.custom, custom.host, custom.url) == (
        True,
        "127.0.0.1",
        "http://127.0.0.1:8080/simple",
    )


def test_no_proxy_members_are_bare_suffixes_with_loopback():
    assert {"localhost", "127.0.0.1", "::1", "tsinghua.edu.cn", "hf-mirror.com"} <= set(
        DOMESTIC_NO_PROXY
    )
    assert {"modelscope.cn", "aliyuncs.com"} <= set(DOMESTIC_NO_PROXY)
    assert not any(m.startswith(("*", ".")) for m in DOMESTIC_NO_PROXY)
    members = no_proxy_members([find("pypi", "aliyun")], extra=[".corp.example"])
    assert members[-1] == "corp.example" and "aliyun.com" in members


def test_site_pip_conf_that_beats_the_user_file_is_warned(home, autodl):
    site = autodl / "root/miniconda3/pip.conf"
    site.parent.mkdir(parents=True)
    site.write_text("[global]\nindex-url = http://mirrors.aliyun.com/pypi/simple\n")
    warnings = plan(options(home, autodl)).warnings
    assert any(str(site) in w and "beats the user pip.conf" in w for w in warnings)
    assert site.read_text().startswith("[global]\nindex-url = http://mirrors.aliyun")  # untouched


def test_plain_http_mirror_adds_to_the_users_trusted_hosts(home, autodl):
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\ntrusted-host = a.example b.example\n")
    only_pip = frozenset({"pip"})
    new = plan(options(home, autodl, only=only_pip, pypi="http://10.0.0.5/simple")).changes[0].new
    assert "trusted-host = a.example b.example 10.0.0.5\n" in new
    conf.write_text(new)
    assert plan(options(home, autodl, only=only_pip, pypi="http://10.0.0.5/simple")).empty


def test_no_proxy_for_matches_the_env_file(home, autodl):
    from kuaidi.setup import no_proxy_for

    members = no_proxy_for(options(home, autodl, pypi="sjtu"))
    env_sh = plan(options(home, autodl, pypi="sjtu")).changes[3].new
    assert f'KUAIDI_NO_PROXY="{",".join(members)}"' in env_sh
    assert "sjtu.edu.cn" in members and "tsinghua.edu.cn" in members  # conda stays on TUNA


def test_uv_inline_index_array_stays_valid_toml(home, autodl):
    path = home / ".config/uv/uv.toml"
    path.parent.mkdir(parents=True)
    path.write_text('index = [{ url = "https://x/simple" }]\n')
    new = plan(options(home, autodl, only=frozenset({"uv"}))).changes[0].new
    data = tomlkit.parse(new).unwrap()
    assert data["index"] == [{"url": "https://x/simple"}, {"url": TUNA, "default": True}]


def test_condarc_of_only_comments_keeps_them(home, autodl):
    (home / ".condarc").write_text("# notes about my conda\n")
    new = plan(options(home, autodl, only=frozenset({"conda"}))).changes[0].new
    assert new.startswith("# notes about my conda\nchannels:\n  - defaults\n")
    (home / ".condarc").write_text(new)
    assert plan(options(home, autodl, only=frozenset({"conda"}))).empty
