"""Ask the real client libraries where they would send a URL (the ground truth for noproxy.py).

Each oracle sets ``os.environ`` for the call only — run it in a subprocess (``python -m
tests.net.oracles FAMILY < cases.json``) so the test process's environment is never touched.
"""

from __future__ import annotations

import json
import os
import sys


def _requests(module_name: str, url: str) -> str | None:
    utils = __import__(f"{module_name}.utils", fromlist=["utils"])
    proxies = utils.get_environ_proxies(url, no_proxy=None)
    return utils.select_proxy(url, proxies)


_clients: dict[tuple, object] = {}


def _httpx(module_name: str, url: str) -> str | None:
    module = __import__(module_name)
    key = (module_name, tuple(sorted(os.environ.items())))
    if key not in _clients:
        try:  # one client per environment; verify=False only skips loading the CA bundle
            _clients[key] = module.Client(trust_env=True, verify=False)
        except Exception as exc:  # the client refuses the environment outright
            _clients[key] = f"ERROR {type(exc).__name__}"
    client = _clients[key]
    if isinstance(client, str):
        return client
    transport = client._transport_for_url(module.URL(url))
    if transport is client._transport:
        return None
    proxy = transport._pool._proxy_url  # httpcore.HTTPProxy
    return f"{proxy.scheme.decode()}://{proxy.host.decode()}:{proxy.port}"


def answer(family: str, cases: list[dict]) -> list[str | None]:
    out: list[str | None] = []
    saved = dict(os.environ)
    try:
        for case in cases:
            os.environ.clear()
            os.environ.update(case["env"])
            if family == "requests":
                out.append(_requests("pip._vendor.requests", case["url"]))
            elif family == "requests-new":
                out.append(_requests("requests", case["url"]))
            else:
                out.append(_httpx(family, case["url"]))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return out


if __name__ == "__main__":
    family = sys.argv[1]
    json.dump(answer(family, json.load(sys.stdin)), sys.stdout)


def curl(url: str, env: dict[str, str], curl_path: str = "curl") -> str | None:
    """Where the real curl connects for ``url``: the proxy URL from ``env``, or None (direct).

    Every host name is pinned to 127.0.0.1 with ``--resolve`` and every port is closed, so
    nothing leaves loopback: curl's verbose "Trying A:P" line names the peer it chose.
    """
    import subprocess
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    args = [curl_path, "-sv", "--max-time", "5"]
    if (
        parts.hostname
        and not parts.hostname.replace(".", "").isdigit()
        and ":" not in parts.hostname
    ):
        args += ["--resolve", f"{parts.hostname}:{port}:127.0.0.1"]
    run = subprocess.run(
        [*args, url],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=20,
    )
    for line in run.stderr.splitlines():
        if "Trying " in line:
            peer = line.split("Trying ", 1)[1].rstrip(".")
            proxies = {v for k, v in env.items() if k.lower().endswith("_proxy") and "://" in v}
            for proxy in proxies:
                if urlsplit(proxy).netloc == peer:
                    return proxy
            return None
    raise AssertionError(f"curl did not try to connect for {url}: {run.stderr[-500:]}")


class Recorder:
    """A loopback TCP listener that records each request line and answers 404 — stands in for
    both a proxy and an index, so a test sees which one a client connected to."""

    def __init__(self, host: str) -> None:
        import socket
        import threading

        self.lines: list[str] = []
        self._sock = socket.socket()
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.host, self.port = self._sock.getsockname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.settimeout(5)
                    self.lines.append(conn.recv(4096).decode(errors="replace").split("\r\n")[0])
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


def uv(host: str, env: dict[str, str], uv_path: str, proxy: Recorder, index: Recorder) -> str:
    """``"proxy"`` or ``"direct"``: where the real uv sent its index request for ``host``."""
    import subprocess
    import sys
    import tempfile

    proxy.lines.clear()
    index.lines.clear()
    with tempfile.TemporaryDirectory() as home:
        run_env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "UV_NO_CACHE": "1"}
        run_env.update(UV_HTTP_RETRIES="0", UV_NO_CONFIG="1", **env)
        subprocess.run(
            [uv_path, "pip", "install", "--dry-run", "--no-deps", "--python", sys.executable,
             "--index-url", f"http://{host}:{index.port}/simple/", "kuaidi-no-such-package"],
            env=run_env, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    if proxy.lines and not index.lines:
        return "proxy"
    if index.lines and not proxy.lines:
        return "direct"
    raise AssertionError(f"uv reached proxy={proxy.lines} index={index.lines}")
