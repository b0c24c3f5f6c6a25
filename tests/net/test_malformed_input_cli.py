"""Malformed URLs from every place a user (or the platform) gives one: one line, exit 2, no
traceback (issue 10 #16). Each runs ``kuaidi get`` as a subprocess; nothing is contacted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from tests.get.conftest import run_cli

DEAD = "http://127.0.0.1:9"  # never contacted: the value is refused before any request
BASE = ["get", "org/tiny", "--dry-run", "--modelscope-endpoint", "none"]


def one_error_line(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert out.returncode == 2, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr and lines[0].startswith("kuaidi: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert out.stdout == ""
    return lines[0]


@pytest.mark.parametrize(
    ("env", "args", "needles"),
    [
        ({"https_proxy": "http://[::1"}, [], ["https_proxy", "http://[::1", "Invalid IPv6"]),
        ({"HTTPS_PROXY": "http://[::1"}, [], ["HTTPS_PROXY", "http://[::1"]),
        ({"all_proxy": "socks5://h:99999"}, [], ["all_proxy", "socks5://h:99999"]),
        ({"no_proxy": "http://[x"}, [], ["no_proxy", "http://[x"]),
        ({"NO_PROXY": "localhost,http://[x"}, [], ["NO_PROXY", "http://[x"]),
        ({"KUAIDI_PROXY": "http://[::1"}, [], ["KUAIDI_PROXY", "http://[::1"]),
        ({}, ["--proxy", "http://[proxy]:8080"], ["--proxy", "http://[proxy]:8080"]),
        ({}, ["--endpoint", "http://[::1"], ["--endpoint", "http://[::1"]),
        ({"HF_ENDPOINT": "http://[::1"}, ["--no-endpoint"], ["HF_ENDPOINT", "http://[::1"]),
        ({}, ["--modelscope-endpoint", "http://[::1"], ["--modelscope-endpoint", "http://[::1"]),
        ({}, ["--origin", "http://[::1"], ["--origin", "http://[::1"]),
        ({"KUAIDI_ORIGIN": "http://[::1"}, [], ["KUAIDI_ORIGIN", "http://[::1"]),
        ({}, ["--origin-host", "cdn.example.com:notaport"], ["--origin-host", "notaport"]),
    ],
)
def test_malformed_value_is_one_line_naming_it(
    env: dict[str, str], args: list[str], needles: list[str]
) -> None:
    if "--no-endpoint" in args:  # HF_ENDPOINT is read only when no --endpoint is given
        args = []
        cmd = [*BASE]
    else:
        cmd = [*BASE, *(["--endpoint", DEAD] if "--endpoint" not in args else [])]
    out = run_cli(*cmd, *args, env=env)
    one_error_line(out, *needles)


def test_credentials_in_a_malformed_proxy_are_never_echoed() -> None:
    out = run_cli(*BASE, "--endpoint", DEAD, "--proxy", "http://bob:s3cret@[::1")
    line = one_error_line(out, "--proxy", "bob:***@")
    assert "s3cret" not in line


def test_named_turbo_file_with_a_bad_line_names_file_and_line(tmp_path: Path) -> None:
    turbo = tmp_path / "network_turbo"
    turbo.write_text("export no_proxy=localhost\nexport https_proxy=http://[::1\necho ok\n")
    out = run_cli(*BASE, "--endpoint", DEAD, "--network-turbo", str(turbo))
    one_error_line(out, f"{turbo}:2", "https_proxy", "http://[::1")


# -- the platform's own file (/etc/network_turbo), not named by the user ----------------------
WRAPPER = """
import sys
from pathlib import Path
import kuaidi.net.turbo, kuaidi.net.scope, kuaidi.sources.runsources
path = Path(sys.argv[1])  # stands in for /etc/network_turbo, which a test must not write
kuaidi.net.turbo.DEFAULT_PATH = kuaidi.net.scope.DEFAULT_PATH = path
kuaidi.sources.runsources.DEFAULT_PATH = path
from kuaidi.cli import main
sys.exit(main(sys.argv[2:]))
"""


def run_with_default_turbo(turbo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env = {k: v for k, v in env.items() if not k.startswith(("HF_", "HUGGING"))}
    env["HF_HOME"] = str(turbo.parent / "hf-home")
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, str(turbo), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_bad_platform_turbo_file_does_not_break_a_mirror_download(
    tmp_path: Path, sim_factory: Callable[..., Sim]
) -> None:
    """A user who did not ask for the proxy expects get to work: one warning line, exit 0."""
    turbo = tmp_path / "network_turbo"
    turbo.write_text("export https_proxy=http://[::1\n")
    sim = sim_factory("clean", hosts=["hf-mirror"])
    args = [a if a != "org/tiny" else "kuaidi-sim/tiny-model" for a in BASE]
    out = run_with_default_turbo(turbo, *args, "--endpoint", sim.url("hf-mirror"))
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kuaidi: warning: "), out.stderr
    assert f"{turbo}:1" in lines[0] and "ignored" in lines[0]
    assert "config.json" in out.stdout


def test_bad_platform_turbo_file_is_an_error_when_the_origin_is_asked_for(
    tmp_path: Path,
) -> None:
    turbo = tmp_path / "network_turbo"
    turbo.write_text("export https_proxy=http://[::1\n")
    out = run_with_default_turbo(turbo, *BASE, "--endpoint", DEAD, "--source", "origin")
    one_error_line(out, f"{turbo}:1", "https_proxy")
