"""``kuaidi sim`` and ``kuaidi demo`` from the outside: bad input is one line, the sim serves."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from kuaidi.cli import main

KUAIDI = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kuaidi")


def test_unknown_profile_lists_valid_ones(capsys):
    assert main(["sim", "--profile", "cnlink"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kuaidi: error: unknown sim profile 'cnlink'")
    assert "clean, cn-link, flaky, wall" in err and len(err.strip().splitlines()) == 1


def test_bad_size_spec_names_the_token(capsys, tmp_path):
    code = main(["sim", "--cache-dir", str(tmp_path), "--repos", "me/x=config.json:1KB,w.bin:12XB"])
    assert code == 2
    err = capsys.readouterr().err
    assert "'w.bin:12XB'" in err and "fix:" in err


def test_bad_serve_dir(capsys, tmp_path):
    assert main(["sim", "--cache-dir", str(tmp_path), "--serve-dir", "nodir"]) == 2
    assert "--serve-dir" in capsys.readouterr().err
    assert main(["sim", "--cache-dir", str(tmp_path), "--serve-dir", f"{tmp_path}/no=me/x"]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_port_in_use_names_the_port(capsys, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert (
            main(["sim", "--profile", "clean", "--cache-dir", str(tmp_path), "--port", str(port)])
            == 2
        )
    err = capsys.readouterr().err
    assert f"port {port} is already in use" in err


def test_sim_serves_until_interrupted(tmp_path):
    src = tmp_path / "mine"
    src.mkdir()
    (src / "config.json").write_text('{"hello": 1}')
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.Popen(
        [KUAIDI, "sim", "--profile", "clean", "--cache-dir", str(tmp_path / "c"),
         "--serve-dir", f"{src}=me/mine", "--repos", "me/spec=a.bin:2KB"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        exports = dict(
            line.strip()[len("export ") :].split("=", 1) for line in lines if "export " in line
        )
        endpoint = exports["HF_ENDPOINT"]
        assert exports["HF_HUB_DISABLE_XET"] == "1"
        assert "me/mine" in text and "hf-mirror" in text
        r = httpx.get(f"{endpoint}/me/mine/resolve/main/config.json", follow_redirects=True)
        assert r.status_code == 200 and r.json() == {"hello": 1}
        r = httpx.get(f"{endpoint}/api/models/me/spec")
        assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)  # generous: a loaded 2-core CI box
        assert proc.returncode == 0 and "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


@pytest.mark.slow
def test_demo_downloads_verifies_and_loads_offline(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HOME"] = str(tmp_path)  # the sim's content cache goes under the temp home
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [KUAIDI, "demo", "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=90, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sha256 verified 7/7" in proc.stdout
    assert "stall ×1" in proc.stdout and "reset ×1" in proc.stdout
    assert "route ladder: tokenizer.json served by modelscope" in proc.stdout  # mirror's is bad
    assert "loaded offline" in proc.stdout
    assert list(
        (tmp_path / "work/hub").glob("models--kuaidi-sim--demo-model/snapshots/*/config.json")
    )


def test_sim_with_proxy_exports_a_way_to_the_walled_origin(tmp_path):
    """The printed exports alone let `kuaidi get --source origin` cross the wall."""
    import shlex

    from tests.conftest import require_binary

    require_binary("tinyproxy")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.Popen(
        [KUAIDI, "sim", "--profile", "wall", "--cache-dir", str(tmp_path / "c"), "--with-proxy"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        lines: list[str] = []
        while line := proc.stdout.readline():
            lines.append(line)
            if "Ctrl-C" in line:
                break
        exports = {}
        for line in lines:
            if line.strip().startswith("export "):
                key, value = line.strip()[len("export ") :].split("=", 1)
                exports[key] = shlex.split(value)[0]
        assert exports["KUAIDI_PROXY"].startswith("http://127.0.0.1:")
        out = subprocess.run(
            [KUAIDI, "get", "kuaidi-sim/nested-model", "--source", "origin", "-q",
             "--cache-dir", str(tmp_path / "hub")],
            env=env | exports, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert Path(out.stdout.strip()).is_dir()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)  # generous: a loaded 2-core CI box
