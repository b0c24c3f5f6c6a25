"""The "uv" family against the real uv binary (reqwest/hyper-util proxy rules).

A recording listener plays the proxy (127.0.0.2) and another the index (127.0.0.1); uv's index
request lands on one of them. Only loopback IPs and ``localhost`` are used as hosts, so a direct
connection never needs DNS.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kuaidi.net.noproxy import effective_proxy
from tests.net.oracles import Recorder, uv

CASES = [
    ("127.0.0.1", {"HTTP_PROXY": "{P}", "http_proxy": ""}),
    ("127.0.0.1", {"http_proxy": "{P}"}),
    ("127.0.0.1", {"HTTP_PROXY": "", "http_proxy": "{P}"}),  # empty uppercase wins: none
    ("127.0.0.1", {"http_proxy": "{P}", "NO_PROXY": "127.0.0.1", "no_proxy": ""}),
    ("127.0.0.1", {"http_proxy": "{P}", "no_proxy": "127.0.0.1", "NO_PROXY": "localhost"}),
    ("127.0.0.1", {"http_proxy": "{P}", "no_proxy": "127.0.0.1", "NO_PROXY": ""}),
    ("127.0.0.1", {"http_proxy": "{P}", "NO_PROXY": "127.0.0.0/8"}),
    ("127.0.0.1", {"http_proxy": "{P}", "NO_PROXY": "*"}),  # '*' never matches an IP host
    ("localhost", {"http_proxy": "{P}", "NO_PROXY": "a.com,*"}),
    ("localhost", {"http_proxy": "{P}", "NO_PROXY": "LOCALHOST"}),
    ("localhost", {"http_proxy": "{P}", "NO_PROXY": ".localhost"}),
    ("localhost", {"http_proxy": "{P}", "NO_PROXY": "*.localhost"}),
    ("localhost", {"HTTPS_PROXY": "{P}"}),
    ("localhost", {"ALL_PROXY": "{P}"}),
    ("localhost", {"all_proxy": "{P}", "HTTP_PROXY": ""}),
]


@pytest.fixture(scope="module")
def uv_path() -> str:
    path = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(path).exists():
        pytest.skip("uv is not installed in the venv")
    return path


@pytest.fixture(scope="module")
def listeners() -> Iterator[tuple[Recorder, Recorder]]:
    proxy, index = Recorder("127.0.0.2"), Recorder("127.0.0.1")
    yield proxy, index
    proxy.close()
    index.close()


@pytest.mark.parametrize(("host", "env"), CASES)
def test_uv_model_matches_real_uv(
    uv_path: str, listeners: tuple[Recorder, Recorder], host: str, env: dict[str, str]
) -> None:
    proxy, index = listeners
    p = f"http://127.0.0.2:{proxy.port}"
    env = {k: v.replace("{P}", p) for k, v in env.items()}
    url = f"http://{host}:{index.port}/simple/"
    predicted = "direct" if effective_proxy(url, env, "uv") is None else "proxy"
    assert uv(host, env, uv_path, proxy, index) == predicted
