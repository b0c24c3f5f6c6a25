"""The peers of ``bench/serve.py`` and how they are run and measured.

- olah (``olah==0.5.4``) lives in a venv of its own, ``.venv-olah`` at the repo root, made on
  first use: it pins its own fastapi/httpx stack, which must not touch kuaidi's.
- nginx (Debian's ``/usr/sbin/nginx``) serves the same blob files as the static-file reference:
  a config written to a temp dir, run in the foreground (``daemon off``), one worker (kuaidi serve
  is one process with one event loop), sendfile on, no access log.
- Clients are curl processes (C, little CPU of their own); a server's CPU is read with psutil
  (the process and its children: nginx's master and worker).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

OLAH_VERSION = "0.5.4"
REPO_ROOT = Path(__file__).resolve().parents[1]
OLAH_VENV = REPO_ROOT / ".venv-olah"
NGINX = "/usr/sbin/nginx"
MiB = 1 << 20
GiB = 1 << 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def olah_version(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    out = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('olah'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def olah_venv(venv: Path = OLAH_VENV) -> Path:
    """``olah-cli`` of olah OLAH_VERSION in ``venv``, creating or fixing the venv if needed."""
    cli = venv / "bin" / "olah-cli"
    if cli.exists() and olah_version(venv) == OLAH_VERSION:
        return cli
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"olah=={OLAH_VERSION}"]
    subprocess.run(pip, check=True, timeout=900)
    return cli


def olah_argv(cli: Path, port: int, store: Path, hf: str, cdn: str) -> list[str]:
    """olah on 127.0.0.1:port, its upstream the sim's HF host and that host's CDN."""
    scheme, _, hf_netloc = hf.partition("://")
    _, _, cdn_netloc = cdn.partition("://")
    return [
        str(cli),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--hf-scheme",
        scheme,
        "--hf-netloc",
        hf_netloc,
        "--hf-lfs-netloc",
        cdn_netloc,
        "--repos-path",
        str(store),
    ]


def nginx_conf(root: Path, port: int, tmp: Path) -> str:
    """A foreground nginx serving ``root`` on 127.0.0.1:port, every path under ``tmp``."""
    temps = (
        "\n".join(
            f"  {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi")
        )
        + "\n"
        + "\n".join(f"  {kind}_temp_path {tmp / kind};" for kind in ("uwsgi", "scgi"))
    )
    # As root the worker would drop to `nobody`, which cannot read a 0700 temp dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 30;
  default_type application/octet-stream;
{temps}
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location / {{ }}
  }}
}}
"""


def nginx_argv(conf: Path, tmp: Path) -> list[str]:
    return [NGINX, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]


def write_nginx(root: Path, tmp: Path) -> tuple[list[str], str]:
    """Write the config under ``tmp``; the argv that runs it and the base URL."""
    tmp.mkdir(parents=True, exist_ok=True)
    tmp = tmp.resolve()  # nginx reads a relative -c against its -p prefix
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_conf(root.resolve(), port, tmp))
    return nginx_argv(conf, tmp), f"http://127.0.0.1:{port}"


@dataclass
class Running:
    name: str
    url: str
    proc: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process and its children so far."""
        import psutil  # the bench extra; imported here so the harness tests need it only here

        try:
            top = psutil.Process(self.proc.pid)
            procs = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system
        return total


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until ``url`` answers anything over HTTP (a 404 counts: the server is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited {proc.returncode} before it answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@contextmanager
def running(
    name: str, argv: Sequence[str], url: str, log: Path, probe: str = "/", env: dict | None = None
) -> Iterator[Running]:
    """Run a server in the foreground until the block ends (terminate, then kill)."""
    with open(log, "wb") as out:
        # cwd beside the log: olah writes its own logs/ into the working directory.
        proc = subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent
        )
        try:
            wait_http(url + probe, proc)
            yield Running(name, url, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def curl_clients(jobs: Sequence[Sequence[tuple[str, Path | None]]]) -> tuple[float, list[int]]:
    """Start one curl per job at once (a job: (url, file or None for /dev/null) pairs, fetched
    in order on one connection); wall seconds until all end, and the bytes each received."""
    curl = shutil.which("curl") or "curl"
    procs = []
    start = time.perf_counter()
    for job in jobs:
        argv = [curl, "-sS", "-L", "--fail", "-w", "%{size_download}\\n"]
        for url, dest in job:
            argv += ["-o", str(dest) if dest else os.devnull, url]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    received = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(f"curl exited {p.returncode}: {stderr.decode()[-500:]}")
        received.append(sum(int(x) for x in stdout.split()))
    return time.perf_counter() - start, received


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MiB):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Warm:
    """N warm clients against one server: aggregate throughput and the server's CPU."""

    seconds: float
    nbytes: int
    cpu: float

    @property
    def mib_s(self) -> float:
        return self.nbytes / MiB / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_gib(self) -> float:
        return self.cpu / (self.nbytes / GiB) if self.nbytes else 0.0


def warm_clients(server: Running, urls: Sequence[str], clients: int, expect: int) -> Warm:
    """``clients`` curls at once, each fetching every url to /dev/null; every one must receive
    ``expect`` bytes (the model's size)."""
    cpu0 = server.cpu_seconds()
    seconds, received = curl_clients([[(u, None) for u in urls] for _ in range(clients)])
    cpu = server.cpu_seconds() - cpu0
    if any(r != expect for r in received):
        raise RuntimeError(f"{server.name}: clients received {received}, expected {expect} each")
    return Warm(seconds, sum(received), cpu)
