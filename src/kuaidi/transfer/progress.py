"""What the engine reports while it runs, and three ways to show it.

The engine calls an :class:`Events` sink; :func:`make_progress` picks rich bars on a TTY (one
line for the run, one per large file, as ``hf download`` shows them), plain periodic lines
otherwise (with %, speed and ETA, also while nothing arrives), or nothing
(``--quiet``/``--json``). Speed is measured over the last few seconds by a ticker, so it decays
while nothing arrives instead of freezing at its last value, and a stall or a retry is said.
Tokens never reach this module: events carry repo paths, byte counts and error messages only.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

from kuaidi.units import format_rate, format_size, plural

WINDOW = 5.0  # seconds of history behind the shown speed
STALLED = 3.0  # no byte for this long while connections are open: say "stalled"
NOTE_FOR = 5.0  # a retry note stays this long
BIG_FILE = 32 << 20  # files at least this large get their own progress line


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Rate:
    """Bytes per second over the last :data:`WINDOW` seconds, from samples a ticker takes;
    with no new bytes it falls to 0 within the window (it never freezes)."""

    def __init__(self) -> None:
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def sample(self, now: float, total: int) -> float:
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[1][0] >= WINDOW:
            self._samples.popleft()
        t0, b0 = self._samples[0]
        return (total - b0) / (now - t0) if now - t0 >= 0.5 else 0.0


class Events:
    """Counters shared by the engine's workers, plus hooks a display overrides."""

    def __init__(self) -> None:
        self.total = 0
        self.done_bytes = 0  # bytes present (resumed, already there, or fetched)
        self.fetched = 0  # bytes received over the network in this run
        self.retries = 0
        self.active_files = 0
        self.files_total = 0
        self.files_done = 0
        self.connections = 0
        self.last_byte = time.monotonic()
        self.note = ""  # the latest retry, for NOTE_FOR seconds
        self.note_at = 0.0
        self.file_bytes: dict[str, list[int]] = {}  # big files only: path -> [done, size]
        self._lock = threading.Lock()

    def start(self, total: int, present: int) -> None:
        self.total, self.done_bytes = total, present
        self.last_byte = time.monotonic()

    def resuming(self, nbytes: int) -> None:
        """An earlier run left ``nbytes`` journaled on disk; they are not fetched again."""

    def bytes(self, n: int, path: str | None = None) -> None:
        with self._lock:
            self.done_bytes += n
            self.fetched += n
            self.last_byte = time.monotonic()
            if path is not None and path in self.file_bytes:
                self.file_bytes[path][0] += n

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
            self.note, self.note_at = f"retrying {path}: {error}", time.monotonic()

    def connection(self, delta: int) -> None:
        with self._lock:
            self.connections += delta

    def file_started(self, path: str, size: int = 0, resumed: int = 0) -> None:
        with self._lock:
            self.active_files += 1
            if size >= BIG_FILE:
                self.file_bytes[path] = [resumed, size]

    def file_finished(self, path: str, ok: bool, error: str | None = None) -> None:
        with self._lock:
            self.active_files = max(0, self.active_files - 1)
            self.files_done += 1

    def close(self) -> None:
        pass

    # -- what a display shows --------------------------------------------------------------
    def status(self, now: float, speed: float) -> tuple[str, str]:
        """``(main, note)``: "3/7 files · 8 conns · 1 retry" and "stalled 5s" / a retry."""
        main = (
            f"{self.files_done}/{self.files_total} files · {plural(self.connections, 'conn')} · "
            f"{plural(self.retries, 'retry')}"
        )
        idle = now - self.last_byte
        if self.connections and idle >= STALLED and self.done_bytes < self.total:
            note = f"stalled {idle:.0f}s, nothing arriving"
        elif self.note and now - self.note_at < NOTE_FOR:
            note = self.note
        else:
            note = ""
        return main, note

    def eta(self, speed: float) -> float | None:
        left = max(0, self.total - self.done_bytes)
        return left / speed if speed > 1 else (0.0 if left == 0 else None)


class _Ticker:
    """Calls ``tick`` every ``period`` seconds on a daemon thread until stopped."""

    def __init__(self, tick: Callable[[], None], period: float) -> None:
        self._tick = tick
        self._period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="kuaidi-progress")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self._tick()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)


class PlainEvents(Events):
    """Lines for logs and pipes: one per file outcome and retry, a status line (%, speed,
    ETA) every ``interval`` seconds — also while nothing arrives, so a stall shows."""

    def __init__(self, stream: TextIO, interval: float = 5.0) -> None:
        super().__init__()
        self._out = stream
        self._interval = interval
        self._print_lock = threading.Lock()
        self._rate = Rate()
        self._ticker: _Ticker | None = None
        self._next = 0.0

    def _say(self, line: str) -> None:
        # Workers report from their own threads: one locked write per line, or two file
        # outcomes can land on one line ("a.json okkuaidi: b.json ok").
        with self._print_lock:
            self._out.write(line + "\n")
            self._out.flush()

    def start(self, total: int, present: int) -> None:
        super().start(total, present)
        self._next = time.monotonic() + self._interval
        self._ticker = _Ticker(self._tick, min(1.0, self._interval))

    def resuming(self, nbytes: int) -> None:
        self._say(f"kuaidi: resuming: {format_size(nbytes)} already on disk")

    def _tick(self) -> None:
        now = time.monotonic()
        speed = self._rate.sample(now, self.fetched)
        if now < self._next:
            return
        self._next = now + self._interval
        main, note = self.status(now, speed)
        pct = 100.0 * self.done_bytes / self.total if self.total else 100.0
        self._say(
            f"kuaidi: {pct:.0f}% {format_size(self.done_bytes)}/{format_size(self.total)}, "
            f"{format_rate(speed)}, ETA {fmt_eta(self.eta(speed))}, {main.replace(' · ', ', ')}"
            + (f", {note}" if note else "")
        )

    def retry(self, path: str, error: str) -> None:
        super().retry(path, error)
        self._say(f"kuaidi: retry {path}: {error}")

    def file_finished(self, path: str, ok: bool, error: str | None = None) -> None:
        super().file_finished(path, ok, error)
        word = "ok" if ok else f"FAILED: {error}"
        self._say(f"kuaidi: {path} {word}")

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()


class RichEvents(Events):
    """rich progress: a line for the run (files, bytes, speed, ETA, stall/retry note) and one
    per large file."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self._console = console
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            DownloadColumn(binary_units=True),
            TextColumn("{task.fields[speed]}"),
            TextColumn("ETA {task.fields[eta]}"),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("get", total=1, speed="", eta="", info="")
        self._rows: dict[str, tuple[TaskID, Rate]] = {}
        self._rate = Rate()
        self._progress.start()
        self._ticker = _Ticker(self._update, 0.2)

    def resuming(self, nbytes: int) -> None:
        self._progress.console.print(f"resuming: {format_size(nbytes)} already on disk")

    def _update(self) -> None:
        now = time.monotonic()
        speed = self._rate.sample(now, self.fetched)
        main, note = self.status(now, speed)
        info = main + (f" · [yellow]{note}[/yellow]" if note else "")
        self._progress.update(
            self._task,
            description=f"{self.files_done}/{self.files_total} files",
            total=max(1, self.total),
            completed=self.done_bytes,
            speed=format_rate(speed),
            eta=fmt_eta(self.eta(speed)),
            info=info,
        )
        with self._lock:
            files = {p: tuple(v) for p, v in self.file_bytes.items()}
        for path, (done, size) in files.items():
            row = self._rows.get(path)
            if row is None:
                tid = self._progress.add_task(path, total=size, speed="", eta="", info="")
                row = self._rows[path] = (tid, Rate())
            tid, rate = row
            fspeed = rate.sample(now, done)
            left = max(0, size - done)
            self._progress.update(
                tid,
                completed=done,
                speed=format_rate(fspeed),
                eta=fmt_eta(left / fspeed if fspeed > 1 else None),
            )

    def file_finished(self, path: str, ok: bool, error: str | None = None) -> None:
        super().file_finished(path, ok, error)
        with self._lock:
            self.file_bytes.pop(path, None)
        row = self._rows.pop(path, None)
        if row is not None:
            self._progress.update(row[0], visible=False)
        if not ok:
            self._progress.console.print(f"[red]failed[/red] {path}: {error}")

    def close(self) -> None:
        self._ticker.stop()
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
