"""The "requests" families against real pip: pip 23 (vendored requests 2.31) and pip 26 (2.34).

pip asks its index through requests with the environment's proxies, so where its index request
lands (a recording "proxy" on 127.0.0.2 or the "index" on 127.0.0.1) is what the model must
predict. Only loopback IPs and ``localhost`` are used, so going direct never needs DNS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kuaidi.net.noproxy import effective_proxy
from tests.net.oracles import Recorder

ROOT = Path(__file__).resolve().parents[2]

CASES = [
    ("127.0.0.1", {"no_proxy": "127.0.0.1"}),
    ("127.0.0.1", {"no_proxy": "", "NO_PROXY": "127.0.0.1"}),  # requests' own check falls through
    ("127.0.0.1", {"no_proxy": "0.0.1"}),  # urllib: a suffix on a dot boundary, even for an IP
    ("localhost", {"no_proxy": "host"}),  # raw endswith: direct for requests 2.31 only
    ("localhost", {"no_proxy": ".localhost"}),
    ("localhost", {}),
]


def _pythons() -> list[tuple[str, str]]:
    hf0 = os.environ.get("KUAIDI_HF0_PYTHON") or str(ROOT / ".venv-hf0/bin/python")
    found = [("requests-new", sys.executable)]
    if Path(hf0).exists():
        found.append(("requests", hf0))
    return found


@pytest.fixture(scope="module")
def listeners() -> Iterator[tuple[Recorder, Recorder]]:
    proxy, index = Recorder("127.0.0.2"), Recorder("127.0.0.1")
    yield proxy, index
    proxy.close()
    index.close()


def _pip_route(
    python: str, host: str, env: dict[str, str], proxy: Recorder, index: Recorder
) -> str:
    proxy.lines.clear()
    index.lines.clear()
    with tempfile.TemporaryDirectory() as work:
        run_env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": work,
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_CACHE_DIR": "1",
            **env,
        }
        subprocess.run(
            [python, "-m", "pip", "download", "--no-deps", "--retries", "0", "--timeout", "5",
             "-d", work, "--index-url", f"http://{host}:{index.port}/simple/",
             "kuaidi-no-such-package"],
            env=run_env, capture_output=True, timeout=120, check=False,
        )  # fmt: skip
    if proxy.lines and not index.lines:
        return "proxy"
    if index.lines and not proxy.lines:
        return "direct"
    raise AssertionError(f"pip reached proxy={proxy.lines} index={index.lines}")


@pytest.mark.parametrize(("family", "python"), _pythons())
def test_requests_model_matches_real_pip(
    family: str, python: str, listeners: tuple[Recorder, Recorder]
) -> None:
    proxy, index = listeners
    p = f"http://127.0.0.2:{proxy.port}"
    wrong = []
    for host, extra in CASES:
        env = {"http_proxy": p, **extra}
        url = f"http://{host}:{index.port}/simple/"
        predicted = "direct" if effective_proxy(url, env, family) is None else "proxy"  # type: ignore[arg-type]
        real = _pip_route(python, host, env, proxy, index)
        if predicted != real:
            wrong.append((host, extra, predicted, real))
    assert not wrong, wrong
