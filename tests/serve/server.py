"""A ``kuaidi serve`` subprocess on loopback, in front of a sim, for the serve tests."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kuaidi.sim import Sim
from kuaidi.sim.content import RepoSpec

ROOT = Path(__file__).resolve().parents[2]
MiB = 1 << 20
# A model big enough to be streamed while it fills, small enough for a quick suite.
SERVE_REPO = RepoSpec(
    "kuaidi-sim/serve-model",
    "config.json:2KB,tokenizer.json:24KB,model.safetensors:6MiB",
    seed=41,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """No user token, cache or proxy; HOME under the test's tmp dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING", "KUAIDI_"))}
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env.pop(key, None)
    env.update(
        HOME=str(home),
        HF_HOME=str(home / "hf"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT / "src"),
    )
    env.update(extra)
    return env


class Server:
    """``kuaidi serve --cache-dir STORE`` over ``sim``'s HF mirror (no ModelScope, no proxy)."""

    def __init__(self, sim: Sim | None, store: Path, home: Path, *args: str) -> None:
        self.sim, self.store, self.home, self.args = sim, store, home, list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / f"serve-{self.port}.log"

    def start(self, timeout: float = 30) -> Server:
        home = self.home
        home.mkdir(parents=True, exist_ok=True)
        upstream = []
        if self.sim is not None:
            upstream = ["--endpoint", self.sim.url("hf-mirror"), "--origin", self.sim.url("origin")]
        cmd = [
            sys.executable, "-m", "kuaidi", "serve", "--port", str(self.port),
            "--cache-dir", str(self.store), "--modelscope-endpoint", "none", "--proxy", "none",
            *upstream, *self.args,
        ]  # fmt: skip
        out = self.log.open("ab")
        self.proc = subprocess.Popen(cmd, env=clean_env(home), stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"kuaidi serve exited: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"kuaidi serve did not listen: {self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """kill -9: no cleanup, the journal is all that is left."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, trust_env=False, **kw)  # type: ignore[arg-type]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected(sim: Sim, repo_id: str, repo_type: str = "model") -> dict[str, bytes]:
    """The repo's files (path -> bytes) as the sim serves them at main."""
    repo = sim.catalog.get(repo_type, repo_id)
    assert repo is not None
    commit = repo.resolve("main")
    assert commit is not None
    return {p: Path(f.blob_path).read_bytes() for p, f in commit.files.items()}


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cache" not in p.relative_to(root).parts
    }
