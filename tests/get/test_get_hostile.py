"""A hostile listing (traversal, absolute, backslash, NUL, huge, looping) writes nothing outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.get import SourceOptions, download, engine_options
from kuaidi.sim import Sim
from kuaidi.sim.content import Catalog, RepoSpec
from tests.get.conftest import read_tree, run_cli

OID = "0" * 40


def _snapshot_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


TINY = "kuaidi-sim/tiny-model"


def _hostile(make_sim, entries: list[dict] | None = None, **options: object) -> Sim:  # type: ignore[no-untyped-def]
    """The sim's mirror as a hostile server: ``entries`` appended to TINY's tree listing."""
    opts = {"extra_tree": {TINY: entries or []}, **options}
    return make_sim(overrides={"hf-mirror": {"options": opts}})


def _file_bytes_sent(sim: Sim) -> int:
    """Body bytes of files (not listings) the mirror and its CDN served."""
    return sim.host("hf-cdn").bytes_sent + sim.log("hf-mirror").bytes_sent("*/resolve*")


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",
        "a/../../escape.txt",
        "/tmp/escape.txt",
        "a\\..\\escape.txt",
        "nul\x00.txt",
        "a//b.txt",
        "C:escape.txt",
    ],
)
def test_unsafe_path_refuses_listing_before_any_write(make_sim, tmp_path: Path, path: str) -> None:  # type: ignore[no-untyped-def]
    cache = tmp_path / "cache"
    sim = _hostile(make_sim, [{"type": "file", "oid": OID, "size": 5, "path": path}])
    out = run_cli("get", TINY, "--cache-dir", str(cache), "--endpoint", sim.url("hf-mirror"))
    assert out.returncode == 2
    assert "unsafe file path" in out.stderr
    assert _file_bytes_sent(sim) == 0
    assert not cache.exists() or _snapshot_files(cache) <= {"CACHEDIR.TAG"}
    assert _snapshot_files(tmp_path) <= {"cache", "cache/CACHEDIR.TAG"}


def test_unsafe_path_in_local_dir_mode(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    local = tmp_path / "a" / "b"
    sim = _hostile(make_sim, [{"type": "file", "oid": OID, "size": 5, "path": "../../x"}])
    with pytest.raises(KuaidiError, match="unsafe"):
        download(TINY, endpoint=sim.url("hf-mirror"), local_dir=local)
    assert not (tmp_path / "x").exists() and not local.exists()


def test_huge_listing_is_paged_and_filtered(tmp_path: Path) -> None:
    files = [(f"shard/{i:05d}.txt", 1) for i in range(5000)] + [("config.json", 2)]
    catalog = Catalog(tmp_path / "content", [RepoSpec("org/huge", files, revisions=1)])
    opts = {"hf-mirror": {"options": {"page_size": 1000}}}
    with Sim("clean", catalog=catalog, hosts=["hf-mirror", "hf-cdn"], overrides=opts) as sim:
        result = download(
            "org/huge",
            include=["config.json", "shard/0000*"],
            endpoint=sim.url("hf-mirror"),
            cache_dir=tmp_path / "hub",
            engine=engine_options(connections=4),
            sources=SourceOptions(modelscope_endpoint="none"),
        )
        assert result.ok and len(result.files) == 11
        assert read_tree(Path(result.path)).keys() == {
            "config.json",
            *(f"shard/0000{i}.txt" for i in range(10)),
        }
        assert len([e for e in sim.log("hf-mirror").entries if "/tree/" in e.path]) == 6


def test_looping_pagination_is_an_error_not_a_hang(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = _hostile(make_sim, page_size=2, loop_cursor=True)
    with pytest.raises(KuaidiError, match="does not end"):
        download(TINY, endpoint=sim.url("hf-mirror"), cache_dir=tmp_path)
    assert _file_bytes_sent(sim) == 0
    assert not (tmp_path / "models--kuaidi-sim--tiny-model").exists()


# -- listings that never end, or lie about sizes (issue 10 #17, #19) -------------------------
def run_measured(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str, int]:
    """``kuaidi`` as a subprocess: (exit code, stdout, stderr, peak RSS in bytes from VmHWM)."""
    import os
    import subprocess
    import sys
    import tempfile
    import time

    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    base = {k: v for k, v in base.items() if not k.lower().endswith("_proxy")}
    base["HF_HOME"] = "/nonexistent-hf-home"
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kuaidi", *args],
            stdout=out,
            stderr=err,
            env={**base, **(env or {})},
            text=True,
        )
        peak, deadline = 0, time.monotonic() + 280
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with open(f"/proc/{proc.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]) * 1024)
            except OSError:
                pass
            if peak > 600 * 2**20:  # far past the bound: stop before the box suffers
                proc.kill()
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), peak


def dry_run_args(endpoint: str, *extra: str) -> list[str]:
    return [
        "get",
        "org/huge",
        "--dry-run",
        "--endpoint",
        endpoint,
        "--modelscope-endpoint",
        "none",
        *extra,
    ]


def test_a_tree_body_that_streams_forever_is_one_line_with_bounded_memory() -> None:
    from tests.get.hostile import HostileHub

    with HostileHub("stream") as hub:
        code, out, err, peak = run_measured(*dry_run_args(hub.endpoint))
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "larger than" in err and "Traceback" not in err
    assert out == ""
    assert peak <= 300 * 2**20, f"peak RSS {peak / 2**20:.0f} MiB"


@pytest.mark.slow
def test_a_cursor_that_never_ends_is_one_line_with_bounded_memory() -> None:
    """Fresh entries on every page: refused at the default cap (2e6 files), under 300 MB."""
    from tests.get.hostile import HostileHub

    with HostileHub("cursor") as hub:
        code, _, err, peak = run_measured(*dry_run_args(hub.endpoint))
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "more than 2,000,000 files" in err
    assert "KUAIDI_MAX_LISTING_FILES" in err and "Traceback" not in err
    assert peak <= 300 * 2**20, f"peak RSS {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("size", [2**63, 2**64 + 1, -1, 1.5, True, "12", None])
def test_an_impossible_size_is_one_line_not_a_c_long_overflow(size: object, tmp_path: Path) -> None:
    from tests.get.hostile import HostileHub

    bad = {"type": "file", "oid": OID, "size": size, "path": "w.bin"}
    with HostileHub("entry", extra=[bad]) as hub:
        out = run_cli(*dry_run_args(hub.endpoint))
        real = run_cli(  # a real run, not --dry-run: nothing may be preallocated either
            "get",
            "org/huge",
            "--endpoint",
            hub.endpoint,
            "--modelscope-endpoint",
            "none",
            "--cache-dir",
            str(tmp_path),
        )
    for got in (out, real):
        assert got.returncode == 1, got.stderr
        assert len(got.stderr.splitlines()) == 1 and "invalid size" in got.stderr
        assert "Traceback" not in got.stderr and "C long" not in got.stderr
    assert not list(tmp_path.rglob("*.kuaidi-part"))


def test_a_huge_real_listing_dry_run_lists_every_file_and_writes_nothing(tmp_path: Path) -> None:
    from tests.get.hostile import HostileHub
    from tests.get.test_get_hostile import _snapshot_files

    before = _snapshot_files(tmp_path)
    with HostileHub("huge", entries=30_000) as hub:
        code, out, err, _ = run_measured(*dry_run_args(hub.endpoint, "--cache-dir", str(tmp_path)))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 30_001 and lines[-1].startswith("30,000 files")
    assert _snapshot_files(tmp_path) == before


def test_modelscope_listing_has_the_same_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    from kuaidi.errors import UnsafeListing
    from kuaidi.model import RepoRef
    from kuaidi.net.client import make_client
    from kuaidi.net.scope import ProxyScope
    from kuaidi.sources.modelscope import ModelScopeSource
    from tests.get.hostile import HostileHub

    monkeypatch.setenv("KUAIDI_MAX_LISTING_FILES", "5000")
    with make_client(ProxyScope.direct()) as client:
        with HostileHub("stream") as hub, pytest.raises(UnsafeListing, match="larger than"):
            ModelScopeSource(hub.endpoint, client, retries=0).list(RepoRef("o/m"))
        with HostileHub("cursor") as hub, pytest.raises(UnsafeListing, match="more than 5,000"):
            ModelScopeSource(hub.endpoint, client, retries=0).list(RepoRef("o/d", "dataset"))
        bad = {"Type": "blob", "Path": "w.bin", "Size": 2**63, "Sha256": "a" * 64}
        with HostileHub("entry", extra=[bad]) as hub, pytest.raises(UnsafeListing, match="size"):
            ModelScopeSource(hub.endpoint, client, retries=0).list(RepoRef("o/m"))
        with HostileHub("huge", entries=450) as hub:  # 3 dataset pages: a real listing works
            listing = ModelScopeSource(hub.endpoint, client).list(RepoRef("o/d", "dataset"))
            assert len(listing.files) == 450 and listing.files[0].sha256
