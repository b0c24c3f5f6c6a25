"""The status routes behind a real uvicorn on loopback, and Debian's chromium to look at them."""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from kuaidi.serve.stats import ServeStats
from kuaidi.serve.status import ServerInfo, routes

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def status_server(stats: ServeStats, info: ServerInfo) -> Iterator[str]:
    """A uvicorn server on 127.0.0.1 (a free port) running only the status routes; its URL."""
    app = Starlette(routes=routes(stats, info))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def chromium(binary: str, url: str, *, screenshot: Path | None = None) -> str:
    """The DOM chromium built from ``url`` (``--dump-dom``), or a PNG at ``screenshot``."""
    with tempfile.TemporaryDirectory(prefix="kuaidi-chromium-") as profile:
        argv = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        if screenshot is not None:
            argv += [f"--screenshot={screenshot}", "--window-size=1000,730", "--hide-scrollbars"]
        else:
            argv += ["--dump-dom"]
        out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=90)
    if out.returncode != 0:
        raise RuntimeError(f"chromium exited {out.returncode}: {out.stderr[-2000:]}")
    return out.stdout
