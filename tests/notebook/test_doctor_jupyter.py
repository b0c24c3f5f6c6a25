"""doctor's Jupyter check against real processes: a fake Jupyter server is a real child process
started with a chosen environment and a command line naming jupyter-lab / jupyter-notebook."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kuaidi.doctor import Context, run
from kuaidi.doctor.jupyter import is_server
from tests.notebook.conftest import KUAIDI
from tests.setup.conftest import clean_env, snapshot

MIRROR = "https://hf-mirror.com"


@contextmanager
def fake_server(tmp_path: Path, env: dict[str, str], how: str) -> Iterator[int]:
    """``exec -a jupyter-lab sleep``, or a Python script named jupyter-notebook."""
    if how == "exec-a":
        argv, name = ["bash", "-c", "exec -a jupyter-lab sleep 120"], "jupyter-lab"
    else:
        script = tmp_path / "bin" / "jupyter-notebook"
        script.parent.mkdir(exist_ok=True)
        script.write_text("import time\ntime.sleep(120)\n")
        argv, name = [sys.executable, str(script), "--no-browser"], "jupyter-notebook"
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
    try:
        cmdline = Path(f"/proc/{child.pid}/cmdline")
        for _ in range(200):  # bounded: until the exec has happened (bash's own cmdline
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")  # names it too)
            if name in argv[0] or (len(argv) > 1 and name in argv[1]):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"{name} did not start")
        yield child.pid
    finally:
        child.kill()
        child.wait(timeout=10)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root tree whose proc is the real /proc (the doctor reads root/proc)."""
    path = tmp_path / "root"
    path.mkdir()
    (path / "proc").symlink_to("/proc")
    return path


def _mine(ctx: Context, pid: int) -> list[str]:
    report = run(ctx, offline=True, only=["jupyter"])
    assert not report.crashed
    return [
        f.fix
        for f in report.findings
        if f.check_id == "jupyter.kernels" and any(f"pid {pid} " in e for e in f.evidence)
    ]


@pytest.mark.parametrize("how", ["exec-a", "script"])
def test_a_server_without_hf_endpoint_is_reported_with_the_fix(
    tmp_path: Path, home: Path, root: Path, how: str
) -> None:
    server_env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}  # the platform started it
    ctx = Context(environ={"HF_ENDPOINT": MIRROR}, home=home, root=root)  # the user's shell
    with fake_server(tmp_path, server_env, how) as pid:
        fixes = _mine(ctx, pid)
    assert fixes and fixes[0].startswith("kuaidi setup --only env,jupyter")


def test_silent_when_the_server_has_hf_endpoint(tmp_path: Path, home: Path, root: Path) -> None:
    server_env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "HF_ENDPOINT": MIRROR}
    with fake_server(tmp_path, server_env, "exec-a") as pid:
        assert _mine(Context(environ={}, home=home, root=root), pid) == []


def test_silent_once_the_startup_file_is_installed(tmp_path: Path, home: Path, root: Path) -> None:
    server_env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    with fake_server(tmp_path, server_env, "exec-a") as pid:
        ctx = Context(environ={}, home=home, root=root)
        assert _mine(ctx, pid)
        setup = [str(KUAIDI), "setup", "--root", str(tmp_path / "bare"), "--only", "env,jupyter"]
        done = subprocess.run(
            setup, env=clean_env(home), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert _mine(Context(environ={}, home=home, root=root), pid) == []


def test_the_cli_names_the_server_and_its_kernel_specs(
    tmp_path: Path, home: Path, root: Path
) -> None:
    spec = home / ".local/share/jupyter/kernels/py310/kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text('{"argv": ["python"], "display_name": "py310", "language": "python"}')
    before = snapshot(home)
    with fake_server(tmp_path, {"PATH": "/usr/bin:/bin", "HOME": str(home)}, "exec-a") as pid:
        out = subprocess.run(
            [str(KUAIDI), "doctor", "--root", str(root), "--offline"],
            env=clean_env(home, HF_ENDPOINT=MIRROR, HF_HUB_DISABLE_XET="1"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    text = out.stdout + out.stderr
    assert "Jupyter server" in text and f"pid {pid}" in text, text
    assert f"kernel spec {spec}: no env" in text
    assert "kuaidi setup --only env,jupyter" in text and "Traceback" not in text
    assert snapshot(home) == before  # the doctor reads, never writes


@pytest.mark.parametrize(
    ("argv", "server"),
    [
        (["/root/miniconda3/bin/python", "/root/miniconda3/bin/jupyter-lab", "--port=8888"], True),
        (["/usr/bin/python3", "/usr/local/bin/jupyter", "lab", "--allow-root"], True),
        (["python", "-m", "jupyterlab"], True),
        (["jupyter-server"], True),
        (["python", "-m", "ipykernel_launcher", "-f", "/tmp/k.json"], False),  # a kernel
        (["/usr/bin/jupyter", "kernelspec", "list"], False),
        (["vim", "jupyter-lab.md"], False),
    ],
)
def test_server_command_lines(argv: list[str], server: bool) -> None:
    assert is_server(argv) is server
