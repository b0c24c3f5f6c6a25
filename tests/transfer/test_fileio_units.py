"""FileIO's group commit: concurrent flushes of one file share fdatasyncs, every range is
journaled, and a released file keeps nothing new."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from kuaidi.model import Placement, RemoteFile
from kuaidi.transfer.fileio import FileIO
from kuaidi.transfer.journal import Journal

KiB = 1024


def _io(tmp_path: Path, data: bytes) -> FileIO:
    where = tmp_path / "blob"
    placement = Placement(where.with_suffix(".part"), where.with_suffix(".j"), where, where)
    remote = RemoteFile("blob", len(data), sha256=hashlib.sha256(data).hexdigest(), lfs=True)
    return FileIO(placement, remote)


def test_concurrent_flushes_journal_every_range_and_the_file_verifies(tmp_path: Path) -> None:
    data = bytes(range(256)) * (64 * 4 * 16)  # 4 MiB, 16 workers of 64 pieces each
    io = _io(tmp_path, data)
    assert io.open() == []
    step, workers = 4 * KiB, 16
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            assert io.enter()
            for off in range(k * step, len(data), workers * step):
                io.write(memoryview(data)[off : off + step], off)
                assert io.flush(off, off + step)
            io.leave()
        except BaseException as exc:  # surfaced below: a thread's assert must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors, errors
    assert io.done == [(0, len(data))]
    assert Journal.load(io.placement.journal, len(data)) == [(0, len(data))]
    assert io.verify() is None


def test_a_flush_after_release_keeps_nothing(tmp_path: Path) -> None:
    data = b"x" * (64 * KiB)
    io = _io(tmp_path, data)
    io.open()
    assert io.enter()
    io.write(memoryview(data)[: 32 * KiB], 0)
    assert io.flush(0, 32 * KiB)
    io.close()  # released while a worker is inside: the journal goes at once
    io.write(memoryview(data)[32 * KiB :], 32 * KiB)
    assert not io.flush(32 * KiB, 64 * KiB)
    io.leave()
    assert Journal.load(io.placement.journal, len(data)) == [(0, 32 * KiB)]


def test_the_flushing_worker_does_not_hash(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A flush that makes a big prefix contiguous hands the hashing to another thread: the
    worker's connection goes back to reading at once (it used to sit idle while hundreds of
    MiB were hashed), and verify() still sees every byte hashed."""
    from kuaidi.transfer.verify import IncrementalHash

    fed_on: list[int] = []
    feed = IncrementalHash.feed

    def recording_feed(self: IncrementalHash, fd: int, upto: int) -> None:
        fed_on.append(threading.get_ident())
        feed(self, fd, upto)

    monkeypatch.setattr(IncrementalHash, "feed", recording_feed)
    data = bytes(range(256)) * (4 * 40 * KiB)  # 40 MiB: several hash steps
    io = _io(tmp_path, data)
    io.open()
    assert io.hasher is not None
    half = len(data) // 2
    assert io.enter()
    io.write(memoryview(data)[half:], half)
    assert io.flush(half, len(data))  # not contiguous from 0 yet: nothing to hash
    io.write(memoryview(data)[:half], 0)
    assert io.flush(0, half)  # now all 40 MiB are: hashed behind this worker's back
    io.leave()
    assert io.verify() is None
    worker = threading.get_ident()
    assert fed_on and fed_on[0] != worker  # the flush did not hash on the worker's thread
    assert io.hasher is None
