"""`kuaidi get URL` as a user runs it: a GitHub release asset through the proxy (kill -9 at
50 %, rerun, byte-exact, re-fetch ≤ 2 %), --sha256 mismatch, a host that ignores Range, the
university release mirror before the proxy, domestic hosts direct."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from kuaidi.sim.github import ca_pem, github_hosts, tinyproxy_upstreams
from kuaidi.sim.github_mirror import mirror_hosts
from kuaidi.sim.proxy import TinyProxy, find_tinyproxy
from tests.code.conftest import KUAIDI

MiB = 1 << 20
BIG = 256 * MiB
RELEASES = {"kuaidi-sim/hello-pkg": {"v0.1.0": {"hello-data.bin": 4 * MiB, "big.bin": BIG}}}


@pytest.fixture
def net(tmp_path: Path, sim_cache: Path) -> Iterator[tuple[Sim, TinyProxy]]:
    if find_tinyproxy() is None:
        pytest.skip("tinyproxy is not installed")
    overrides = {
        **github_hosts(releases=RELEASES),
        **mirror_hosts(releases=RELEASES, range_mode="ignore"),
    }
    overrides["github"]["total_rate"] = 48 * MiB  # a capped link: the kill lands mid-file
    sim = Sim("wall", overrides=overrides, hosts=["github", "gh-mirror"], cache_dir=sim_cache)
    sim.start()
    (tmp_path / "tp").mkdir()
    proxy = TinyProxy(extra_config=tinyproxy_upstreams(sim), workdir=tmp_path / "tp").start()
    try:
        yield sim, proxy
    finally:
        proxy.close()
        sim.stop()


def _env(sim: Sim, proxy: TinyProxy, home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "KUAIDI_PROXY": proxy.url,
        "SSL_CERT_FILE": str(ca_pem(sim)),  # the sim's CA, as a lab's proxy CA would be
    }


def _get(sim, proxy, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUAIDI), "get", *args],
        env=_env(sim, proxy, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _on_disk(part: Path) -> int:
    """Bytes written into a sparse partial so far (its allocated blocks)."""
    try:
        return part.stat().st_blocks * 512
    except FileNotFoundError:
        return 0


def _asset_bytes(sim: Sim) -> int:
    return sim.log("github").bytes_sent("/github-production-release-asset/*")


def test_release_asset_kill9_at_half_then_rerun_is_byte_exact(net, tmp_path):
    sim, proxy = net
    out = tmp_path / "out" / "big.bin"
    args = ["gh:kuaidi-sim/hello-pkg@v0.1.0/big.bin", "-o", str(out), "--release-mirror", "none"]
    proc = subprocess.Popen(
        [str(KUAIDI), "get", *args, "--journal-every", str(256 * 1024)],
        env=_env(sim, proxy, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        part = out.parent / ".big.bin.kuaidi-part"
        while _on_disk(part) < BIG // 2:
            assert proc.poll() is None, "finished before the kill"
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert not out.exists()  # nothing at the final path until verified
    assert (out.parent / ".big.bin.kuaidi-part").is_file()
    kept = _on_disk(out.parent / ".big.bin.kuaidi-part")
    time.sleep(1.0)  # let the sim log the killed connections (it logs a request when it ends)
    first = _asset_bytes(sim)
    assert first < BIG
    run = _get(sim, proxy, tmp_path, *args)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(out)
    want = sim.host("github").app.asset("kuaidi-sim", "hello-pkg", "v0.1.0", "big.bin")
    assert _sha(out) == want.sha256 and out.stat().st_size == BIG
    twice = first + (_asset_bytes(sim) - first) - BIG
    print(
        f"killed at {kept / MiB:.0f} MiB on disk; first run sent {first / MiB:.1f} MiB, "
        f"fetched twice {twice / MiB:.2f} MiB ({twice / BIG:.2%})"
    )
    assert twice <= BIG * 0.02, f"{twice} bytes fetched twice"
    assert "verified by sha256 from GitHub's releases API" in run.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["big.bin"]  # no leftovers
    hosts = {ln.split("CONNECT ")[-1].split()[0] for ln in proxy.log_lines() if "Request (" in ln}
    assert hosts <= {
        "github.com:443",
        "api.github.com:443",
        "release-assets.githubusercontent.com:443",
    }


def test_sha256_mismatch_exits_1_and_leaves_nothing_at_the_final_path(net, tmp_path):
    sim, proxy = net
    out = tmp_path / "dl" / "hello-data.bin"
    url = "https://github.com/kuaidi-sim/hello-pkg/releases/download/v0.1.0/hello-data.bin"
    run = _get(sim, proxy, tmp_path, url, "-o", str(out), "--sha256", "0" * 64)
    assert run.returncode == 1
    assert "verification failed" in run.stderr and "Traceback" not in run.stderr
    assert run.stdout == ""
    assert not out.exists()
    assert not (out.parent / ".hello-data.bin.kuaidi-part").exists()


def test_bad_sha256_and_bad_url_are_one_line(net, tmp_path):
    sim, proxy = net
    bad = _get(sim, proxy, tmp_path, "https://github.com/x/y", "--sha256", "abc")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    worse = _get(sim, proxy, tmp_path, "gh:owner-only")
    assert worse.returncode == 2 and "gh:OWNER/REPO@TAG/ASSET" in worse.stderr


def test_a_host_that_ignores_range_completes_on_one_stream_direct(net, tmp_path):
    sim, proxy = net
    url = sim.url("gh-mirror") + "/github-release/kuaidi-sim/hello-pkg/v0.1.0/hello-data.bin"
    run = _get(sim, proxy, tmp_path, url, "--dir", str(tmp_path / "d"))
    assert run.returncode == 0, run.stderr
    assert "ignores Range: one stream" in run.stderr
    assert "verified by size + ETag" in run.stderr
    entries = [e for e in sim.log("gh-mirror").entries if e.method == "GET"]
    assert len(entries) == 2  # the probe and the one stream
    assert all(e.client[0] == "127.0.0.1" for e in entries)  # direct, not the proxy egress
    assert proxy.log_lines() and not [ln for ln in proxy.log_lines() if "Request (" in ln]
    want = sim.host("github").app.asset("kuaidi-sim", "hello-pkg", "v0.1.0", "hello-data.bin")
    assert _sha(tmp_path / "d" / "hello-data.bin") == want.sha256


def test_the_release_mirror_serves_before_the_proxy(net, tmp_path):
    sim, proxy = net
    mirror = sim.url("gh-mirror") + "/github-release"
    out = tmp_path / "m" / "hello-data.bin"
    run = _get(
        sim, proxy, tmp_path, "gh:kuaidi-sim/hello-pkg@v0.1.0/hello-data.bin",
        "-o", str(out), "--release-mirror", mirror,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "from custom release mirror 4.0 MiB" in run.stderr
    assert _asset_bytes(sim) <= 1  # GitHub sent the probe's byte, the mirror the file
    assert "verified by sha256 from GitHub's releases API" in run.stderr


def test_second_run_is_already_present(net, tmp_path):
    sim, proxy = net
    args = ["gh:kuaidi-sim/hello-pkg@v0.1.0/hello-data.bin", "--dir", str(tmp_path / "p")]
    assert _get(sim, proxy, tmp_path, *args).returncode == 0
    before = _asset_bytes(sim)
    again = _get(sim, proxy, tmp_path, *args)
    assert again.returncode == 0 and "already present" in again.stderr
    assert _asset_bytes(sim) - before <= 1  # the probe's one byte
    assert os.listdir(tmp_path / "p") == ["hello-data.bin"]
