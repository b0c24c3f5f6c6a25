"""Resume across runs against the sim: SIGKILL at deterministic points, disk full, torn journal.

Kill points are chosen by progress, not time: the test watches the partial's journal and kills
the process when it holds k records (or once the blob is installed), so every run is the same.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.get import download, engine_options
from kuaidi.transfer.journal import HEADER_SIZE, RECORD_SIZE, Journal
from tests.get.conftest import expected, read_tree, run_cli

BIG = "kuaidi-test/big"
RESUME = "kuaidi-test/resume"
SIZE = 3_000_000
CONNS = 3
JOURNAL_EVERY = 256 * 1024
MiB = 1024 * 1024
SLOW_CDN = {"hf-cdn": {"conn_rate": 1024 * 1024, "total_rate": 3 * 1024 * 1024}}
# A kill costs, per connection in flight: bytes received since its last journal record, plus
# what the sim had already pushed into the loopback socket buffers (kernel autotuning; grows when
# the killed process stalled in fdatasync). So per connection: JOURNAL_EVERY + 2 MiB.
KILL_BOUND = CONNS * (JOURNAL_EVERY + 2 * MiB)
# The rerun fetches exactly the gaps, plus at most a token-bucket burst per stolen range.
RERUN_SLACK = 8 * 256 * 1024


def _records(blobs: Path) -> int:
    js = list(blobs.glob("*.kuaidi-journal"))
    if not js:
        return 0
    try:
        return max(0, (max(j.stat().st_size for j in js) - HEADER_SIZE) // RECORD_SIZE)
    except FileNotFoundError:
        return 0


def _args(sim, cache: Path, *extra: str, repo: str = BIG) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        "get",
        repo,
        *extra,
        "--cache-dir",
        str(cache),
        "--endpoint",
        sim.url("hf-mirror"),
        "-q",
        "--connections",
        str(CONNS),
        "--journal-every",
        str(JOURNAL_EVERY),
    ]


def _served(sim) -> int:  # type: ignore[no-untyped-def]
    return sim.log("hf-cdn").bytes_sent() + sim.log("hf-mirror").bytes_sent("/api/resolve-cache/*")


def _on_disk(sim, cache: Path, repo: str) -> int:  # type: ignore[no-untyped-def]
    """Bytes a rerun may trust: installed blobs + ranges the journals vouch for."""
    blobs = cache / ("models--" + repo.replace("/", "--")) / "blobs"
    total = 0
    for f in sim.catalog.get("model", repo).head.files.values():
        if (blobs / f.etag).exists():
            total += f.size
        else:
            total += sum(b - a for a, b in Journal.load(blobs / f"{f.etag}.kuaidi-journal", f.size))
    return total


@pytest.mark.parametrize(
    "kill_at", ["1-record", "8-records", "30-records", "70-records", "installed"]
)
def test_sigkill_then_rerun_verified_and_bounded(make_sim, tmp_path: Path, kill_at: str) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(overrides={"hf-cdn": {"conn_rate": 4 * MiB, "total_rate": 12 * MiB}})
    blobs = tmp_path / "models--kuaidi-test--resume" / "blobs"
    big_sha = sim.catalog.get("model", RESUME).head.files["model.safetensors"].sha256
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    args = _args(sim, tmp_path, repo=RESUME)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kuaidi", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None:
            assert time.monotonic() < deadline, "no progress"
            if kill_at == "installed":
                if (blobs / big_sha).exists():
                    break
            elif _records(blobs) >= int(kill_at.split("-")[0]):
                break
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    snap = tmp_path / "models--kuaidi-test--resume" / "snapshots"
    want = expected(sim, RESUME)
    total = sum(map(len, want.values()))
    for p in snap.rglob("*"):  # anything visible after the kill is whole and correct
        if p.is_file():
            # A kill between creating a link and renaming it leaves `.NAME.PID.kuaidi-link`
            # (pointing at a verified blob); the rerun sweeps it (asserted by read_tree below).
            name = p.name[1:].rsplit(".", 2)[0] if p.name.endswith(".kuaidi-link") else p.name
            assert p.read_bytes() == want[name]
    time.sleep(0.2)  # let the sim log the killed connections' requests
    first, kept = _served(sim), _on_disk(sim, tmp_path, RESUME)
    out = run_cli(*args)
    assert out.returncode == 0, out.stderr
    assert read_tree(next(snap.iterdir())) == want
    rerun = _served(sim) - first
    assert rerun <= total - kept + RERUN_SLACK, f"rerun fetched {rerun}, gaps were {total - kept}"
    refetched = first + rerun - total
    print(f"kill at {kill_at}: kept {kept}, rerun {rerun}, gaps {total - kept}, twice {refetched}")
    assert refetched <= KILL_BOUND, f"{refetched} bytes fetched twice (kill at {kill_at})"


def test_torn_journal_tail_never_trusted(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(overrides=SLOW_CDN)
    blobs = tmp_path / "models--kuaidi-test--big" / "blobs"
    args = _args(sim, tmp_path, "model.safetensors")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kuaidi", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while proc.poll() is None and _records(blobs) < 4:
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    journal = next(blobs.glob("*.kuaidi-journal"))
    journal.write_bytes(journal.read_bytes()[:-7])  # tear the last record
    vouched = Journal.load(journal, SIZE)
    part = next(blobs.glob("*.kuaidi-part"))
    with open(part, "r+b") as f:  # garbage right after every range the journal still vouches for
        for _, end in vouched:
            if end < SIZE:
                f.seek(end)
                f.write(b"\xff" * 1000)
    out = run_cli(*args, "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["retries"] == 0, "no verification failure: unvouched bytes were fetched again"
    assert summary["bytes_fetched"] == SIZE - sum(b - a for a, b in vouched)
    assert read_tree(Path(summary["path"])) == {
        "model.safetensors": expected(sim, BIG)["model.safetensors"]
    }


def test_disk_full_is_clear_and_keeps_partial(
    make_sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    real = os.pwrite
    written = {"n": 0}

    def full_after_1mb(fd: int, data: bytes, offset: int) -> int:
        if written["n"] > 1_000_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        written["n"] += len(data)
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", full_after_1mb)
    kw = {
        "include": ["model.safetensors"],
        "endpoint": sim.url("hf-mirror"),
        "cache_dir": tmp_path,
        "engine": engine_options(connections=1),
    }
    with pytest.raises(KuaidiError, match="disk full") as exc:
        download(BIG, **kw)  # type: ignore[arg-type]
    assert "free space" in (exc.value.fix or "")
    blobs = tmp_path / "models--kuaidi-test--big" / "blobs"
    assert list(blobs.glob("*.kuaidi-part")) and list(blobs.glob("*.kuaidi-journal"))
    assert not list((tmp_path / "models--kuaidi-test--big").glob("snapshots/*/model.safetensors"))
    monkeypatch.setattr(os, "pwrite", real)
    result = download(BIG, **kw)  # type: ignore[arg-type]
    assert result.ok and result.bytes_fetched < SIZE - 900_000, "resumed, not restarted"
    assert read_tree(Path(result.path)) == {
        "model.safetensors": expected(sim, BIG)["model.safetensors"]
    }


def test_four_processes_one_repo(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(overrides=SLOW_CDN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "kuaidi", *_args(sim, tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    snap = next((tmp_path / "models--kuaidi-test--big" / "snapshots").iterdir())
    assert read_tree(snap) == expected(sim, BIG)
    assert not list((tmp_path / "models--kuaidi-test--big" / "blobs").glob("*.kuaidi-*"))
    # Blob locks: the big file crossed the wire about once, not four times.
    assert sim.log("hf-cdn").bytes_sent("*/model.safetensors") < 2 * SIZE


def test_local_dir_resumes_after_sigkill(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--local-dir keeps its partial under .cache/huggingface/download and resumes it."""
    sim = make_sim(overrides=SLOW_CDN)
    local = tmp_path / "out"
    args = [
        "get",
        BIG,
        "--local-dir",
        str(local),
        "--endpoint",
        sim.url("hf-mirror"),
        "-q",
        "--connections",
        "2",
        "--journal-every",
        str(JOURNAL_EVERY),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kuaidi", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    download_dir = local / ".cache" / "huggingface" / "download"
    try:
        while proc.poll() is None and _records(download_dir) < 4:
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert not (local / "model.safetensors").exists(), "no partial at the final path"
    kept = sum(
        b - a
        for j in download_dir.glob("model.safetensors.*.kuaidi-journal")
        for a, b in Journal.load(j, SIZE)
    )
    assert kept > 0
    out = run_cli(*args, "--json")
    assert out.returncode == 0, out.stderr
    assert read_tree(local) == expected(sim, BIG)
    fetched = json.loads(out.stdout)["bytes_fetched"]
    assert fetched <= sum(map(len, expected(sim, BIG).values())) - kept
    assert not list(download_dir.glob("*.kuaidi-*"))


def test_kuaidi_and_huggingface_hub_share_a_cache(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """kuaidi and hub's snapshot_download at once on one cache: same lock files, both verified."""
    sim = make_sim(overrides=SLOW_CDN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_HUB_DISABLE_XET": "1", "HF_HOME": str(tmp_path / "home")}
    code = (
        "from huggingface_hub import snapshot_download as s; "
        f"print(s({BIG!r}, cache_dir={str(tmp_path)!r}, endpoint={sim.url('hf-mirror')!r}))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "kuaidi", *_args(sim, tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    snap = next((tmp_path / "models--kuaidi-test--big" / "snapshots").iterdir())
    assert read_tree(snap) == expected(sim, BIG)
    blobs = tmp_path / "models--kuaidi-test--big" / "blobs"
    assert not list(blobs.glob("*.kuaidi-*")) and not list(blobs.glob("*.incomplete"))


# -- random kills of a throttled download: the journal's real bound (issue 10 #18) ----------
KILL_CONNS = 8
CN_LINK_CDN = (16 * MiB, 96 * MiB)  # the CDN's caps in profile cn-link: per connection, in all
SLOW_LINK = (512 * 1024, 4 * MiB)  # a slow link: a second of a connection is under 1 MiB


def kill_bound(conns: int, conn_rate: float, total_rate: float, buffered: float) -> float:
    """What docs/get.md states a kill costs at most: per connection, 1 MiB or one second of
    its bytes (whichever is less) not yet journaled, plus what sat in socket buffers."""
    per_conn = min(conn_rate, total_rate / conns)
    return conns * (min(1 * MiB, 1.0 * per_conn) + buffered)


def _random_kills(tmp_path: Path, kills: int, size_mib: int, rates: tuple[int, int]) -> list[int]:
    import random

    from kuaidi.sim import Sim
    from kuaidi.sim.content import Catalog, RepoSpec

    repo = f"kuaidi-test/kill{size_mib}"
    catalog = Catalog(tmp_path / "content", [RepoSpec(repo, f"model.safetensors:{size_mib}MiB")])
    caps = {"hf-cdn": {"conn_rate": rates[0], "total_rate": rates[1]}}
    rng = random.Random(1810)
    lost: list[int] = []
    size = size_mib * MiB
    seconds = size / min(rates[1], KILL_CONNS * rates[0])
    for k in range(kills):
        cache = tmp_path / f"hub{k}"
        with Sim("clean", catalog=catalog, hosts=["hf-mirror", "hf-cdn"], overrides=caps) as sim:
            args = [
                "get", repo, "--cache-dir", str(cache), "--endpoint", sim.url("hf-mirror"),
                "--modelscope-endpoint", "none", "-q", "-n", str(KILL_CONNS),
            ]  # fmt: skip
            proc = subprocess.Popen(
                [sys.executable, "-m", "kuaidi", *args],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # A moment anywhere in the transfer (after the ~0.5 s the process takes to start).
            time.sleep(rng.uniform(0.6, 0.4 + 0.8 * seconds))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            out = run_cli(*args, "--json")
            assert out.returncode == 0, out.stderr
            summary = json.loads(out.stdout)
            got = (Path(summary["path"]) / "model.safetensors").read_bytes()
            assert got == expected(sim, repo)["model.safetensors"], f"kill {k}: not verified"
            time.sleep(0.3)  # the killed run's last responses are logged once the sim notices
            served = sim.log("hf-cdn").bytes_sent()
            lost.append(max(0, served - size))  # bytes the wire carried twice
        shutil.rmtree(cache, ignore_errors=True)
    return lost


def _report(lost: list[int], bound: float, *, each: bool = False) -> None:
    mean = sum(lost) / len(lost)
    print(
        f"{len(lost)} kills: mean lost {mean / MiB:.2f} MiB, max {max(lost) / MiB:.2f} MiB, "
        f"bound {bound / MiB:.1f} MiB; each: {[round(x / MiB, 1) for x in lost]}"
    )
    assert mean <= bound, f"mean {mean / MiB:.1f} MiB lost per kill over the stated bound"
    if each:  # the docs say "at most": every kill, not only on average
        assert max(lost) <= bound, f"a kill lost {max(lost) / MiB:.1f} MiB"


def test_random_kills_on_a_slow_link_lose_at_most_a_second_per_connection(tmp_path: Path) -> None:
    """Regression (issue 10 #18): journaling only every 4 MiB per connection kept nothing of
    the first seconds on a slow link. 5 SIGKILLs at seeded random moments of a 16 MiB download
    at 512 KiB/s per connection: every rerun verifies, and the mean bytes fetched twice per
    kill is within docs/get.md's bound (a throttled sender leaves little in socket buffers)."""
    lost = _random_kills(tmp_path, 5, 16, SLOW_LINK)
    _report(lost, kill_bound(KILL_CONNS, *SLOW_LINK, buffered=256 * 1024), each=True)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("KUAIDI_SLOW"), reason="set KUAIDI_SLOW=1 (~70 s)")
def test_twenty_random_kills_of_200_mib(tmp_path: Path) -> None:
    """The acceptance run: 20 kills of a 200 MiB download at cn-link's CDN caps, 20/20
    verified after the rerun, mean bytes lost per kill within the stated bound."""
    lost = _random_kills(tmp_path, 20, 200, CN_LINK_CDN)
    _report(lost, kill_bound(KILL_CONNS, *CN_LINK_CDN, buffered=2 * MiB))
