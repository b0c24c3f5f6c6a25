"""`kuaidi cache list/verify` on a cache kuaidi filled from the sim."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kuaidi.cli import main
from kuaidi.cli.cache import command
from kuaidi.get import download


def test_list_and_verify_then_detect_corruption(tmp_path: Path) -> None:
    from kuaidi.sim import Sim
    from kuaidi.sim.content import Catalog, RepoSpec

    catalog = Catalog(tmp_path / "content", [RepoSpec("org/m", "tiny", revisions=1)])
    with Sim("clean", catalog=catalog, hosts=["hf-mirror", "hf-cdn"]) as sim:
        cache = tmp_path / "hub"
        assert download("org/m", endpoint=sim.url("hf-mirror"), cache_dir=cache).ok
    runner = CliRunner()
    listed = runner.invoke(command, ["list", "--cache-dir", str(cache), "--json"])
    assert listed.exit_code == 0
    [repo] = json.loads(listed.output)
    assert (repo["repo_id"], repo["revisions"], repo["blobs"]) == ("org/m", ["main"], 5)
    assert main(["cache", "verify", "--cache-dir", str(cache)]) == 0
    blob = max((cache / "models--org--m" / "blobs").iterdir(), key=lambda p: p.stat().st_size)
    data = bytearray(blob.read_bytes())
    data[10] ^= 1
    blob.write_bytes(bytes(data))
    assert main(["cache", "verify", "org/m", "--cache-dir", str(cache)]) == 1


def test_verify_a_repo_that_is_not_cached_says_so(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Regression: it printed '0 blobs checked, 0 corrupt' and exited 0."""
    assert main(["cache", "verify", "org/absent", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "org/absent is not in the cache" in err and "kuaidi get org/absent" in err


def test_list_in_a_pipe_prints_a_long_repo_id_whole(tmp_path: Path) -> None:
    """Regression: piped output assumed 80 columns and cut the repo id to 'org/a-rather-lo…'."""
    import subprocess
    import sys

    name = "some-organisation/a-rather-long-model-name-Instruct-2507-GGUF"
    repo = tmp_path / f"models--{name.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "blobs" / ("a" * 40)).write_bytes(b"x")
    (repo / "refs" / "main").write_text("0" * 40)
    (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("0" * 40) / "f").symlink_to(f"../../blobs/{'a' * 40}")
    out = subprocess.run(
        [sys.executable, "-m", "kuaidi", "cache", "list", "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert name in out.stdout
