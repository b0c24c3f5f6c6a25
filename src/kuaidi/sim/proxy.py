"""A real tinyproxy on loopback: the only road through the sim's wall.

Walled hosts (``origin``, ``origin-cdn`` in the ``wall``/``cn-link`` profiles) serve only
connections from the proxy egress address (``127.0.0.9``); tinyproxy's ``Bind`` makes its
outgoing connections come from there::

    with Sim("wall") as sim, TinyProxy() as proxy:
        httpx.get(sim.url("origin") + "/api/models/x", proxy=proxy.url)   # served
        httpx.get(sim.url("origin") + "/api/models/x")                    # connection reset
        proxy.log_lines()

Other helpers use it for proxy-scope tests (``HTTP(S)_PROXY``, ``no_proxy``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from kuaidi.errors import KuaidiError
from kuaidi.sim.profiles import EGRESS


def find_tinyproxy() -> str | None:
    """Path of the tinyproxy binary (Debian installs it in /usr/bin), or None."""
    return shutil.which("tinyproxy") or next(
        (p for p in ("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy") if Path(p).exists()), None
    )


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class TinyProxy:
    """Start tinyproxy in the foreground on ``127.0.0.1:<free port>``, egress ``bind``.

    ``.url`` is ``http://127.0.0.1:PORT``; ``.log_lines()`` returns its log; leaving the
    ``with`` block stops it (terminate, then kill after 5 s).
    """

    def __init__(
        self,
        *,
        bind: str | None = EGRESS,
        workdir: Path | str | None = None,
        extra_config: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.bind = bind
        self.extra_config = extra_config
        self.timeout = timeout
        self._own_dir = workdir is None
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="kuaidi-tinyproxy-"))
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / "tinyproxy.log"

    def config(self) -> str:
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 60",
            "Allow 127.0.0.0/8",
            f'LogFile "{self.log_path}"',
            "LogLevel Info",
            f'PidFile "{self.dir / "tinyproxy.pid"}"',
            "MaxClients 64",
            "DisableViaHeader Yes",
        ]
        if self.bind:
            lines.append(f"Bind {self.bind}")
        return "\n".join(lines) + "\n" + self.extra_config

    def start(self) -> TinyProxy:
        binary = find_tinyproxy()
        if binary is None:
            raise KuaidiError("tinyproxy is not installed", fix="apt-get install tinyproxy")
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            conf = self.dir / "tinyproxy.conf"
            conf.write_text(self.config())
            self.proc = subprocess.Popen(
                [binary, "-d", "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=(self.dir / "stderr.log").open("wb"),
            )
            if self._wait_ready():
                return self
            self.stop()
        raise KuaidiError(
            f"tinyproxy did not start (see {self.dir / 'stderr.log'})",
            fix="check that tinyproxy runs: tinyproxy -d -c <conf>",
        )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return True
            time.sleep(0.05)
        return False

    def log_lines(self) -> list[str]:
        """tinyproxy's log so far (e.g. to assert a request went through it)."""
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def close(self) -> None:
        """Stop and remove the work dir if we made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> TinyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
