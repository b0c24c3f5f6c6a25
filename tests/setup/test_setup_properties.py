"""Property test (issue 11, defects 9 and 10): generated pip.conf / uv.toml / .condarc /
network_turbo contents, fed to every setup writer and every doctor reader.

Nothing may raise but ``KuaidiError`` (a ``ConfigError`` naming the file), and every file setup
writes re-parses with the parser its own tool uses: configparser for pip, a strict TOML parser
for uv, ruamel.yaml for conda.
"""

from __future__ import annotations

import configparser
import contextlib
import shutil
import tempfile
from pathlib import Path

import tomllib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from kuaidi.doctor import Context as DoctorContext
from kuaidi.doctor import run
from kuaidi.errors import ConfigError, KuaidiError
from kuaidi.net.turbo import parse_network_turbo
from kuaidi.platforms import detect
from kuaidi.setup import SetupOptions, apply, plan, undo
from tests.platforms.fake_trees import make_tree

PIP_LINES = [
    "[global]", "[ global ]", "[global]]", "[install]", "[DEFAULT]", "[]", "[global", "global]",
    "index-url = https://example.org/simple", "index_url: http://10.0.0.5/simple",
    "INDEX-URL=https://x", "  index-url = https://indented", "timeout = 3",
    "trusted-host = a.example b.example", "  continued value", "", "   ", "# comment",
    "; comment", "junk", "key", "=v", "%(x)s = y", "index-url =", "proxy = http://p:1",
]  # fmt: skip
UV_LINES = [
    "[[index]]", 'name = "pytorch"', 'url = "https://download.pytorch.org/whl/cu121"',
    "default = true", "explicit = true", 'index = ["a"]', "index = 5",
    'index = [{url = "https://u/simple", default = true}]', 'index-url = "https://u/simple"',
    'python-install-mirror = "https://m"', "[pip]", "index-url = 1", "[index]", "x = ",
    "# c", "", "a.b = 1", "'''", 'k = """', "[[index]]]", "index.url = 'x'", "[tool]",
]  # fmt: skip
CONDA_LINES = [
    "~", "null", "---", "...", "# c", "channels:", "  - defaults", "- x", "channels: 5",
    "default_channels: 5", "default_channels:", "  - https://x/pkgs/main", "custom_channels:",
    "  pytorch: https://y/cloud", "custom_channels: [1]", "show_channel_urls: false",
    "auto_activate_base: false", "base: &a {x: 1}", "<<: *a", "k: *a", "%YAML 1.2",
    "!!python/object:os.system", '"', "'", ": x", "\t- tab", "channels: [a, b", "? complex",
    "channel_alias: https://m", "custom_channels: {pytorch-nightly: https://m/cloud}",
]  # fmt: skip
TURBO_LINES = [
    "export no_proxy=localhost,127.0.0.1,modelscope.com",
    "export http_proxy=http://172.31.1.128:12798 && export https_proxy=http://172.31.1.128:12798",
    "export https_proxy=", "export http_proxy=notaurl", 'http_proxy="http://1.2.3.4:5"',
    "export a=$b", "export https_proxy=${a}", "echo 设置成功", "unset x", '"', "'", "${",
    "export REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt", "export no_proxy=",
    "export http_proxy=socks5://1.2.3.4:1080", "export https_proxy=http://[::1", "",
]  # fmt: skip


def contents(fragments: list[str]) -> st.SearchStrategy[str]:
    line = st.one_of(st.sampled_from(fragments), st.text(max_size=12))
    return st.builds(
        lambda lines, sep, end: sep.join(lines) + (sep if end else ""),
        st.lists(line, max_size=8),
        st.sampled_from(["\n", "\r\n"]),
        st.booleans(),
    )


FILES = {
    ".config/pip/pip.conf": PIP_LINES,
    ".config/uv/uv.toml": UV_LINES,
    ".condarc": CONDA_LINES,
}
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
    derandomize=True,  # deterministic in CI; the random runs while writing this found the bugs
)


def _reparse(path: Path, text: str) -> None:
    """Parse ``text`` as its own tool does; AssertionError when it would not read it."""
    if path.name == "pip.conf":
        parser = configparser.RawConfigParser()
        parser.read_string(text)
        assert parser.get("global", "index-url")
    elif path.name == "uv.toml":
        data = tomllib.loads(text)
        assert any(isinstance(i, dict) and i.get("default") for i in data.get("index", [])) or (
            data.get("index-url")
        )
    elif path.name == ".condarc":
        data = YAML(typ="safe", pure=True).load(text)
        assert isinstance(data, dict) and isinstance(data["channels"], list)


def _box(files: dict[str, str], turbo: str | None) -> tuple[Path, Path, Path]:
    top = Path(tempfile.mkdtemp(prefix="kuaidi-prop-"))
    home, root = top / "home", top / "root"
    home.mkdir()
    make_tree(root, "autodl")
    if turbo is not None:
        (root / "etc/network_turbo").write_text(turbo, encoding="utf-8", errors="surrogatepass")
    for rel, text in files.items():
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_bytes(text.encode("utf-8", "surrogatepass"))
    return top, home, root


def _writers_and_readers(files: dict[str, str], turbo: str | None) -> None:
    top, home, root = _box(files, turbo)
    try:
        _check(files, home, root)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _check(files: dict[str, str], home: Path, root: Path) -> None:
    # readers: platform detection (the turbo file), the doctor offline (every config reader)
    platform = detect(root, {})
    assert platform.name == "autodl"
    with contextlib.suppress(KuaidiError):
        parse_network_turbo(root / "etc/network_turbo")
    report = run(DoctorContext(environ={}, home=home, root=root, offline=True))
    assert not report.crashed, report.crashed
    # writers: plan (refuse with a ConfigError naming the file, or a plan), apply, re-parse
    try:
        the_plan = plan(SetupOptions(home=home, root=root))
    except ConfigError as exc:
        assert any(str(home / rel) in exc.message for rel in files), exc.message
        return
    apply(the_plan)
    for change in the_plan.changes:
        _reparse(change.path, change.path.read_text("utf-8"))
    undo(home)
    for rel, text in files.items():
        assert (home / rel).read_bytes() == text.encode("utf-8", "surrogatepass")


@SETTINGS
@given(contents(PIP_LINES))
def test_any_pip_conf(text: str) -> None:
    _writers_and_readers({".config/pip/pip.conf": text}, None)


@SETTINGS
@given(contents(UV_LINES))
def test_any_uv_toml(text: str) -> None:
    _writers_and_readers({".config/uv/uv.toml": text}, None)


@SETTINGS
@given(contents(CONDA_LINES))
def test_any_condarc(text: str) -> None:
    _writers_and_readers({".condarc": text}, None)


@SETTINGS
@given(contents(TURBO_LINES), contents(CONDA_LINES))
def test_any_network_turbo(turbo: str, condarc: str) -> None:
    _writers_and_readers({".condarc": condarc}, turbo)


def test_the_reported_files_are_refused_naming_file_and_line(tmp_path: Path) -> None:
    """The exact inputs of issue 11 defects 9 and 10."""
    cases = {
        ".condarc": ["default_channels: 5\n"],
        ".config/uv/uv.toml": ['index = ["a"]\n'],
    }
    for rel, texts in cases.items():
        for text in texts:
            _top, home, root = _box({rel: text}, None)
            try:
                plan(SetupOptions(home=home, root=root))
            except ConfigError as exc:
                assert exc.message.startswith(f"{home / rel}:1: "), exc.message
            else:
                raise AssertionError(f"{rel} {text!r} was accepted")
    for rel, text in {
        ".condarc": "~\n",
        ".condarc ": "null\n",
        ".condarc  ": "---\n# my settings\n",
        ".config/uv/uv.toml": '[[index]]\nname = "pytorch"\nurl = "https://download.pytorch.org/'
        'whl/cu121"\nexplicit = true',
        ".config/pip/pip.conf": "[ global ]\ntimeout = 3\n",
        ".config/pip/pip.conf ": "[global]]\n",
    }.items():
        _top, home, root = _box({rel.strip(): text}, None)
        the_plan = plan(SetupOptions(home=home, root=root))
        (change,) = [c for c in the_plan.changes if c.path == home / rel.strip()]
        _reparse(change.path, change.new)
        if rel.strip() == ".condarc" and "#" in text:
            assert change.new.startswith("---\n# my settings\n")
