"""``kuaidi env --only`` selects (issue 11, defect 4): it used to print everything, and with
``--only shell`` exported uv's Python mirror while dropping its host from no_proxy."""

from __future__ import annotations

import itertools
import re
import subprocess

import pytest

from kuaidi.net.noproxy import decide
from kuaidi.setup import TARGETS
from tests.setup.conftest import KUAIDI, clean_env


def _env(home, autodl, *args):
    out = subprocess.run(
        [str(KUAIDI), "env", "--root", str(autodl), *args],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out


def _exports(text: str) -> dict[str, str]:
    return dict(re.findall(r'^export ([A-Z_]+)="(.*)"$', text, re.MULTILINE))


def test_only_pip_prints_only_pip(home, autodl):
    everything = _exports(_env(home, autodl).stdout)
    pip = _exports(_env(home, autodl, "--only", "pip").stdout)
    assert pip == {"PIP_INDEX_URL": everything["PIP_INDEX_URL"]}
    assert set(_exports(_env(home, autodl, "--only", "env").stdout)) >= {"HF_ENDPOINT", "HF_HOME"}
    assert not {"PIP_INDEX_URL", "UV_DEFAULT_INDEX"} & set(
        _exports(_env(home, autodl, "--only", "env").stdout)
    )


@pytest.mark.parametrize(
    "only", [",".join(c) for n in (1, 2) for c in itertools.combinations(TARGETS, n)]
)
def test_every_exported_mirror_stays_off_the_proxy(home, autodl, only):
    out = _env(home, autodl, "--only", only)
    (no_proxy,) = re.findall(r'^KUAIDI_NO_PROXY="(.*)"$', out.stdout, re.MULTILINE)
    env = {"https_proxy": "http://10.0.0.1:3128", "no_proxy": no_proxy}
    for name, value in _exports(out.stdout).items():
        if value.startswith("http"):
            assert decide(value, env, "requests").proxy is None, (name, value, no_proxy)
            assert decide(value, env, "uv").proxy is None, (name, value, no_proxy)
    if "conda" in only or "shell" in only:
        assert out.stderr.startswith("# note: ")
