"""A writer SIGKILLed mid-write leaves the old file or the new one, never a torn one."""

import os
import signal
import subprocess
import sys
import time

import pytest

from kuaidi.atomic import TEMP_NAME
from kuaidi.setup import plan, undo
from tests.setup.conftest import options, snapshot

OLD = (
    "# mine\n" + "# a long comment so the write has two halves\n" * 50 + "[global]\ntimeout = 30\n"
)
RUN = (
    "import sys; from pathlib import Path; from kuaidi.setup import SetupOptions, apply, plan;"
    "apply(plan(SetupOptions(home=Path(sys.argv[1]), root=Path(sys.argv[2]))))"
)


def _run_until(stage, name, home, root, tmp_path):
    marker = tmp_path / f"paused-{stage}-{name}"
    env = dict(
        os.environ,
        KUAIDI_TEST_ATOMIC_PAUSE=stage,
        KUAIDI_TEST_ATOMIC_NAME=name,
        KUAIDI_TEST_ATOMIC_MARKER=str(marker),
    )
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(home), str(root)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, "writer exited before reaching the pause"
            assert time.monotonic() < deadline, "writer never reached the pause"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("stage", ["mid-tmp", "before-replace", "after-replace"])
def test_sigkill_leaves_old_or_new_and_undo_still_works(home, autodl, tmp_path, stage):
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(OLD)
    before = snapshot(home)
    new = plan(options(home, autodl)).changes[0].new
    _run_until(stage, "pip.conf", home, autodl, tmp_path)
    content = conf.read_text()
    assert content == (new if stage == "after-replace" else OLD)
    # A crash before the replace left a tmp file beside it, never at the final path.
    leftovers = [p.name for p in conf.parent.iterdir() if p.name != "pip.conf"]
    assert all(TEMP_NAME.match(n) for n in leftovers)
    # The manifest knows about the interrupted file: undo restores the original, and sweeps the
    # dead writer's temp file (issue 11 defect 11: it used to survive --undo).
    undo(home)
    assert snapshot(home) == before


def test_sigkill_between_files_then_rerun_completes(home, autodl, tmp_path):
    _run_until("before-replace", "env.sh", home, autodl, tmp_path)
    assert (home / ".config/pip/pip.conf").is_file()  # earlier files done
    assert not (home / ".config/kuaidi/env.sh").exists()  # this one not torn, just absent
    (leftover,) = (home / ".config/kuaidi").iterdir()
    assert TEMP_NAME.match(leftover.name)
    p = plan(options(home, autodl))
    assert [c.target for c in p.changes] == ["env", "shell", "shell", "jupyter", "git"]
    from kuaidi.setup import apply

    assert leftover in apply(p).swept  # the next run sweeps the killed one's temp file
    assert not leftover.exists()
    assert plan(options(home, autodl)).empty
    undo(home)
    assert snapshot(home) == {}
