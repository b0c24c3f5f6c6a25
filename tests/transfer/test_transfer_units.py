"""Unit tests of the engine's own pieces: journal, verification, segments, backoff."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

from kuaidi.model import RemoteFile
from kuaidi.model.digest import check_file, git_blob_sha1
from kuaidi.net.policy import Backoff, parse_retry_after
from kuaidi.transfer.journal import HEADER_SIZE, RECORD_SIZE, Journal, gaps, merge
from kuaidi.transfer.segment import Segment


def test_merge_and_gaps() -> None:
    assert merge([(5, 10), (0, 5), (20, 30), (25, 27)]) == [(0, 10), (20, 30)]
    assert gaps([(0, 10), (20, 30)], 40) == [(10, 20), (30, 40)]
    assert gaps([], 7) == [(0, 7)]
    assert gaps([(0, 7)], 7) == []


def test_journal_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "x.kuaidi-journal"
    j = Journal.open(p, 1000)
    j.append(0, 100)
    j.append(500, 600)
    j.append(100, 200)
    j.close()
    assert Journal.load(p, 1000) == [(0, 200), (500, 600)]
    # Reopening keeps what was recorded and appends after it.
    j = Journal.open(p, 1000)
    j.append(600, 700)
    j.close()
    assert Journal.load(p, 1000) == [(0, 200), (500, 700)]


def test_journal_for_another_size_is_ignored(tmp_path: Path) -> None:
    p = tmp_path / "j"
    j = Journal.open(p, 1000)
    j.append(0, 100)
    j.close()
    assert Journal.load(p, 999) == []


def test_torn_tail_never_claims_bytes(tmp_path: Path) -> None:
    """Every truncation point and a flipped byte in the last record: never more than recorded."""
    p = tmp_path / "j"
    j = Journal.open(p, 10_000)
    for i in range(5):
        j.append(i * 1000, i * 1000 + 500)
    j.close()
    full = p.read_bytes()
    assert len(full) == HEADER_SIZE + 5 * RECORD_SIZE
    for cut in range(len(full)):
        p.write_bytes(full[:cut])
        got = Journal.load(p, 10_000)
        complete = max(0, (cut - HEADER_SIZE) // RECORD_SIZE) if cut >= HEADER_SIZE else 0
        assert got == [(i * 1000, i * 1000 + 500) for i in range(complete)]
    for pos in range(HEADER_SIZE + 4 * RECORD_SIZE, len(full)):
        bad = bytearray(full)
        bad[pos] ^= 0x40
        p.write_bytes(bytes(bad))
        assert Journal.load(p, 10_000) == [(i * 1000, i * 1000 + 500) for i in range(4)]


def test_verify_sha256_and_git_sha1(tmp_path: Path) -> None:
    data = os.urandom(5000)
    f = tmp_path / "f"
    f.write_bytes(data)
    lfs = RemoteFile("m.bin", len(data), sha256=hashlib.sha256(data).hexdigest(), lfs=True)
    small = RemoteFile("c.json", len(data), git_sha1=git_blob_sha1(data))
    assert check_file(f, lfs) is None
    assert check_file(f, small) is None
    assert git_blob_sha1(b"Hello, World!") == "b45ef6fec89518d314f546fd6c3025367b721684"
    f.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert "sha256" in (check_file(f, lfs) or "")
    assert "git sha1" in (check_file(f, small) or "")
    f.write_bytes(data[:-1])
    assert "size" in (check_file(f, lfs) or "")


def test_segment_split_takes_aligned_upper_half() -> None:
    seg = Segment(None, 0, 8 << 20)  # type: ignore[arg-type]
    seg.pos = 1 << 20
    tail = seg.split(1 << 20)
    assert tail is not None
    assert seg.end == tail.start and tail.end == 8 << 20
    assert tail.start % (64 * 1024) == 0 and seg.end - seg.pos >= 1 << 20
    small = Segment(None, 0, 1 << 20)  # type: ignore[arg-type]
    assert small.split(1 << 20) is None


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    rng = random.Random(1)
    b = Backoff(base=0.5, cap=8.0)
    d1 = [b.delay(1, rng=rng) for _ in range(50)]
    d5 = [b.delay(5, rng=rng) for _ in range(50)]
    assert all(0.25 <= d <= 0.5 for d in d1) and all(4.0 <= d <= 8.0 for d in d5)
    assert len(set(d1)) > 1
    assert 3.0 <= b.delay(1, 3.0, rng=rng) <= 3.1
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 10) == 10.0
    assert parse_retry_after("soon") is None


def test_plain_progress_lines_never_run_together() -> None:
    """Regression: print() from worker threads wrote text and newline separately, so two
    outcomes could share a line ("a okkuaidi: b ok")."""
    import io
    import re
    import threading
    import time

    from kuaidi.transfer.progress import PlainEvents

    class SlowStream(io.StringIO):
        def write(self, s: str) -> int:
            time.sleep(0.0005)  # widen the window between two writes of one print()
            return super().write(s)

    out = SlowStream()
    events = PlainEvents(out)

    def report(k: int) -> None:
        for i in range(20):
            events.file_finished(f"f{k}-{i}.bin", True)

    threads = [threading.Thread(target=report, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 160
    assert all(re.fullmatch(r"kuaidi: f\d+-\d+\.bin ok", line) for line in lines)


def test_a_small_files_hasher_buffer_is_no_bigger_than_the_file(tmp_path: Path) -> None:
    """Regression: every file's hasher kept a 1 MiB buffer for the whole run — 500 small files
    peaked at 543 MiB RSS (bench many_files); now it is the file's size and freed at verify."""
    from kuaidi.transfer.verify import IncrementalHash

    data = b"x" * 2000
    path = tmp_path / "f"
    path.write_bytes(data)
    hasher = IncrementalHash(RemoteFile("f", len(data), git_sha1=git_blob_sha1(data)))
    fd = os.open(path, os.O_RDONLY)
    try:
        hasher.feed(fd, len(data))
    finally:
        os.close(fd)
    assert hasher.problem(len(data)) is None
    assert hasher._buf is not None and len(hasher._buf) == len(data)


def test_a_journal_reopened_for_another_size_starts_over_and_then_resumes(tmp_path: Path) -> None:
    """Regression: a journal written for another size kept its old header on open, so every
    record appended after was ignored on the next load — the file never resumed."""
    p = tmp_path / "j"
    old = Journal.open(p, 1000)
    old.append(0, 100)
    old.close()
    reopened = Journal.open(p, 2000)
    reopened.append(0, 300)
    reopened.close()
    assert Journal.load(p, 2000) == [(0, 300)]
