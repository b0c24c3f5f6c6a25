"""One peer, one run, measured from outside: wall, CPU, peak RSS, what the sim served, the TCP
connections it accepted, bytes on disk over time, and the sha256 of every byte written.

The sim runs in this process, so its counters (body bytes per request log, accepted
connections per host) are read before and after the run. CPU is the reaped process tree's
user+sys (``RUSAGE_CHILDREN`` delta); RSS is the tree's summed resident set, sampled every
100 ms with psutil.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.peers import Job, Peer
from kuaidi.sim import Sim

SAMPLE = 0.1  # seconds between samples


@dataclass
class Result:
    """What one run of one peer cost and delivered (``exit`` None: killed by the bench)."""

    tool: str
    wall: float
    cpu: float
    rss: int
    served: int
    conns: int
    exit: int | None
    verified: bool = False
    samples: list[tuple[float, int]] = field(default_factory=list)
    note: str = ""
    orphans: int = 0  # bytes left under the output beyond the repo's own files

    @property
    def ok(self) -> bool:
        return self.exit == 0 and self.verified


def disk_bytes(root: Path) -> int:
    """Bytes allocated under ``root`` (sparse files count what was written, not their size)."""
    total = 0
    stack = [root]
    while stack:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as it:
            for entry in it:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        total += min(st.st_blocks * 512, st.st_size)
    return total


def verify(dest: Path, expected: dict[str, str]) -> bool:
    """Every expected file exists under ``dest`` with the expected sha256."""
    for path, sha in expected.items():
        h = hashlib.sha256()
        try:
            with open(dest / path, "rb") as fh:
                while chunk := fh.read(8 << 20):
                    h.update(chunk)
        except OSError:
            return False
        if h.hexdigest() != sha:
            return False
    return True


def sim_counters(sim: Sim) -> tuple[int, int]:
    """(body bytes served, TCP connections accepted) summed over the sim's hosts."""
    served = sum(h.bytes_sent for h in sim.hosts.values())
    conns = sum(h.connections_accepted for h in sim.hosts.values())
    return served, conns


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    with contextlib.suppress(psutil.Error):
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(
    peer: Peer,
    job: Job,
    sim: Sim,
    expected: dict[str, str],
    *,
    timeout: float,
    kill_at: int | None = None,
    sample: bool = False,
) -> Result:
    """Run ``peer`` on ``job`` to the end (or ``timeout``, or SIGKILL once ``kill_at`` bytes are
    on disk) and measure it. ``sample``: record bytes on disk every 100 ms."""
    for d in (job.work / "home", job.dest):
        d.mkdir(parents=True, exist_ok=True)
    argv, env = peer.command(job)
    served0, conns0 = sim_counters(sim)
    cpu0 = _children_cpu()
    errlog = job.work / f"{peer.name.replace(' ', '_')}.stderr"
    with open(errlog, "ab") as err:
        start = time.perf_counter()
        popen = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
    proc = psutil.Process(popen.pid)
    peak, samples, note = 0, [], ""
    while popen.poll() is None:
        now = time.perf_counter() - start
        peak = max(peak, _tree_rss(proc))
        if sample or kill_at is not None:
            on_disk = disk_bytes(job.work)
            samples.append((now, on_disk))
            if kill_at is not None and on_disk >= kill_at:
                note = f"killed at {on_disk / (1 << 20):.0f} MiB on disk"
                _kill(popen)
                break
        if now > timeout:
            note = f"timed out after {timeout:.0f} s"
            _kill(popen)
            break
        time.sleep(SAMPLE)
    code = popen.wait()
    wall = time.perf_counter() - start
    if sample:
        samples.append((wall, disk_bytes(job.work)))
    served1, conns1 = sim_counters(sim)
    killed = bool(note)
    result = Result(
        tool=peer.name,
        wall=wall,
        cpu=_children_cpu() - cpu0,
        rss=peak,
        served=served1 - served0,
        conns=conns1 - conns0,
        exit=None if killed else code,
        samples=samples,
        note=note,
    )
    if not killed:
        result.verified = code == 0 and verify(job.dest, expected)
        if code != 0:
            result.note = _last_line(errlog) or f"exit {code}"
        result.orphans = max(0, disk_bytes(job.dest) - _expected_bytes(job.dest, expected))
    return result


def _expected_bytes(dest: Path, expected: dict[str, str]) -> int:
    total = 0
    for path in expected:
        with contextlib.suppress(OSError):
            total += (dest / path).stat().st_size
    return total


def _kill(popen: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGKILL)


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:160] if lines else ""
