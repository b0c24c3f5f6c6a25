"""What the engine reports while it runs, and three ways to show it.

The engine calls a :class:`Events` sink; :func:`make_progress` picks rich bars on a TTY, plain
periodic lines otherwise, or nothing (``--quiet``/``--json``). Tokens never reach this module:
events carry repo paths, byte counts and error messages only.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Events:
    """Counters shared by the engine's workers, plus hooks a display overrides."""

    def __init__(self) -> None:
        self.total = 0
        self.done_bytes = 0  # bytes present (resumed, already there, or fetched)
        self.fetched = 0  # bytes received over the network in this run
        self.retries = 0
        self.active_files = 0
        self.connections = 0
        self._lock = threading.Lock()

    def start(self, total: int, present: int) -> None:
        self.total, self.done_bytes = total, present

    def bytes(self, n: int) -> None:
        with self._lock:
            self.done_bytes += n
            self.fetched += n

    def credit(self, n: int) -> None:
        """Bytes that turned out to be present (resumed partial, blob from another process)."""
        with self._lock:
            self.done_bytes += n

    def discard(self, n: int) -> None:
        """Bytes thrown away (a file failed verification and is fetched again)."""
        with self._lock:
            self.done_bytes -= n

    def retry(self, path: str, error: str) -> None:
        with self._lock:
            self.retries += 1

    def connection(self, delta: int) -> None:
        with self._lock:
            self.connections += delta

    def file_started(self, path: str) -> None:
        with self._lock:
            self.active_files += 1

    def file_finished(self, path: str, ok: bool, error: str | None = None) -> None:
        with self._lock:
            self.active_files = max(0, self.active_files - 1)

    def close(self) -> None:
        pass


class PlainEvents(Events):
    """Lines for logs and pipes: one per file outcome, one status line every few seconds."""

    def __init__(self, stream: TextIO, interval: float = 5.0) -> None:
        super().__init__()
        self._out = stream
        self._interval = interval
        self._last = time.monotonic()
        self._t0 = time.monotonic()
        self._print_lock = threading.Lock()

    def _say(self, line: str) -> None:
        # Workers report from their own threads: one locked write per line, or two file
        # outcomes can land on one line ("a.json okkuaidi: b.json ok").
        with self._print_lock:
            self._out.write(line + "\n")
            self._out.flush()

    def _status(self) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        speed = self.fetched / max(1e-6, now - self._t0)
        self._say(
            f"kuaidi: {self.done_bytes / 1e6:.1f}/{self.total / 1e6:.1f} MB "
            f"{speed / 1e6:.1f} MB/s files={self.active_files} conns={self.connections} "
            f"retries={self.retries}"
        )

    def bytes(self, n: int) -> None:
        super().bytes(n)
        self._status()

    def retry(self, path: str, error: str) -> None:
        super().retry(path, error)
        self._say(f"kuaidi: retry {path}: {error}")

    def file_finished(self, path: str, ok: bool, error: str | None = None) -> None:
        super().file_finished(path, ok, error)
        word = "ok" if ok else f"FAILED: {error}"
        self._say(f"kuaidi: {path} {word}")


class RichEvents(Events):
    """A rich progress bar: bytes, speed, ETA, active files, connections, retries."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self._console = console
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("get", total=1, info="")
        self._progress.start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._refresh, daemon=True)
        self._thread.start()

    def _refresh(self) -> None:
        while not self._stop.wait(0.2):
            self._update()

    def _update(self) -> None:
        info = f"files {self.active_files} · conns {self.connections} · retries {self.retries}"
        self._progress.update(
            self._task, total=max(1, self.total), completed=self.done_bytes, info=info
        )

    def file_finished(self, path: str, ok: bool, error: str | None = None) -> None:
        super().file_finished(path, ok, error)
        if not ok:
            self._progress.console.print(f"[red]failed[/red] {path}: {error}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self._update()
        self._progress.stop()


def make_progress(mode: str, stream: TextIO | None = None) -> Events:
    """``mode``: "auto" (rich on a TTY, plain otherwise), "rich", "plain" or "quiet"."""
    stream = stream or sys.stderr
    if mode == "quiet":
        return Events()
    if mode == "rich" or (mode == "auto" and stream.isatty()):
        return RichEvents(Console(file=stream))
    return PlainEvents(stream)
