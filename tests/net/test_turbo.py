"""parse_network_turbo on the formats seen on real boxes, and the malformed ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.net.turbo import parse_assignments, parse_network_turbo

AUTODL_2024 = """
export no_proxy=localhost,127.0.0.1,modelscope.com,aliyuncs.com,tencentyun.com,wisemodel.cn
export http_proxy=http://172.31.1.128:12798 && export https_proxy=http://172.31.1.128:12798
export REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
echo 设置成功
echo 注意：仅限于学术用途，不承诺稳定性保证
"""
AUTODL_OLD = """export no_proxy=localhost,127.0.0.1
export http_proxy=http://192.168.126.12:12798
export https_proxy=http://192.168.126.12:12798
"""
ONE_LINE = "export https_proxy=http://turbo.gpushare.com:30000 http_proxy=http://turbo.gpushare.com:30000\n"
QUOTED = """# network turbo
export no_proxy="localhost, 127.0.0.1,modelscope.com"  # trailing comment
export http_proxy='http://172.20.0.113:12798'; export https_proxy="$http_proxy"
echo "export http_proxy=http://evil.example:1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "network_turbo"
    path.write_text(text, encoding="utf-8")
    return path


def test_autodl_current_format(tmp_path: Path) -> None:
    cfg = parse_network_turbo(write(tmp_path, AUTODL_2024))
    assert cfg is not None
    assert cfg.proxy == cfg.http_proxy == cfg.https_proxy == "http://172.31.1.128:12798"
    assert cfg.no_proxy == (
        "localhost",
        "127.0.0.1",
        "modelscope.com",
        "aliyuncs.com",
        "tencentyun.com",
        "wisemodel.cn",
    )
    assert cfg.env == {
        "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    }
    assert cfg.path == tmp_path / "network_turbo" and cfg.url == cfg.proxy


def test_older_image_with_loopback_only_no_proxy(tmp_path: Path) -> None:
    cfg = parse_network_turbo(write(tmp_path, AUTODL_OLD))
    assert cfg is not None
    assert cfg.proxy == "http://192.168.126.12:12798"
    assert cfg.no_proxy == ("localhost", "127.0.0.1")


def test_one_export_with_two_assignments(tmp_path: Path) -> None:
    cfg = parse_network_turbo(write(tmp_path, ONE_LINE))
    assert cfg is not None
    assert cfg.proxy == "http://turbo.gpushare.com:30000"
    assert cfg.no_proxy == ()


def test_quotes_references_comments_and_echo_lines(tmp_path: Path) -> None:
    cfg = parse_network_turbo(write(tmp_path, QUOTED))
    assert cfg is not None
    assert cfg.https_proxy == cfg.http_proxy == "http://172.20.0.113:12798"
    assert cfg.no_proxy == ("localhost", "127.0.0.1", "modelscope.com")


def test_never_executes_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = (
        f"touch {marker}\n$(touch {marker})\n"
        f"export http_proxy=http://10.0.0.1:1 && touch {marker}\n"
    )
    cfg = parse_network_turbo(write(tmp_path, text))
    assert cfg is not None and cfg.proxy == "http://10.0.0.1:1"
    assert not marker.exists()


def test_command_prefix_assignment_does_not_persist() -> None:
    got = parse_assignments("http_proxy=http://1.2.3.4:5 curl x\nexport https_proxy=$http_proxy\n")
    assert got == {"https_proxy": ""}


def test_missing_file_is_none(tmp_path: Path) -> None:
    assert parse_network_turbo(tmp_path / "absent") is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("echo hi\nexport no_proxy=localhost,127.0.0.1\n", "sets no http_proxy or https_proxy"),
        ("export http_proxy=http://172.31.1.128\n", "not a proxy URL"),
        ("export https_proxy=ftp://1.2.3.4:21\n", "not a proxy URL"),
        ("export http_proxy='http://1.2.3.4:12798\n", "cannot read the line"),
    ],
)
def test_malformed_names_the_file(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(KuaidiError) as info:
        parse_network_turbo(path)
    assert needle in info.value.message
    assert str(path) in info.value.message
    assert info.value.fix


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, AUTODL_OLD)
    path.chmod(0)
    with pytest.raises(KuaidiError, match="cannot read"):
        parse_network_turbo(path)


def test_bare_host_port_gets_a_scheme(tmp_path: Path) -> None:
    cfg = parse_network_turbo(write(tmp_path, "export http_proxy=172.16.70.52:12798\n"))
    assert cfg is not None and cfg.proxy == "http://172.16.70.52:12798"
