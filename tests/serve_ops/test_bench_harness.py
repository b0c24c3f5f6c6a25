"""bench/serve.py's pieces: nginx's config runs and serves, the measurement adds up, olah's argv
points at the sim, and (where the bench already made .venv-olah) olah proxies the sim."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from bench._serve_peers import (
    OLAH_VENV,
    OLAH_VERSION,
    curl_clients,
    free_port,
    nginx_conf,
    olah_argv,
    olah_version,
    running,
    warm_clients,
    write_nginx,
)

from kuaidi.sim import Sim
from kuaidi.sim.content import Catalog, RepoSpec
from tests.conftest import require_binary


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    require_binary("nginx")
    (tmp_path / "root").mkdir()
    argv, base = write_nginx(tmp_path / "root", tmp_path / "nginx")
    out = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "syntax is ok" in out.stderr
    assert base.startswith("http://127.0.0.1:")


def test_nginx_config_keeps_everything_in_its_dir(tmp_path: Path) -> None:
    conf = nginx_conf(tmp_path / "root", 8080, tmp_path)
    assert "daemon off;" in conf and "sendfile on;" in conf and "access_log off;" in conf
    assert "listen 127.0.0.1:8080;" in conf
    for line in conf.splitlines():
        if line.strip().startswith(("pid", "error_log")) or "_temp_path" in line:
            assert str(tmp_path) in line


def test_nginx_serves_blobs_and_the_measurement_adds_up(tmp_path: Path) -> None:
    require_binary("nginx")
    require_binary("curl")
    blobs = tmp_path / "hub" / "models--o--m" / "blobs"
    blobs.mkdir(parents=True)
    data = bytes(range(256)) * 4096  # 1 MiB
    etag = hashlib.sha256(data).hexdigest()
    (blobs / etag).write_bytes(data)
    argv, base = write_nginx(tmp_path / "hub", tmp_path / "nginx")
    url = f"{base}/models--o--m/blobs/{etag}"
    with running("nginx", argv, base, tmp_path / "nginx.log") as srv:
        warm = warm_clients(srv, [url, url], clients=3, expect=2 * len(data))
        _, got = curl_clients([[(url, tmp_path / "copy")]])
    assert warm.nbytes == 3 * 2 * len(data)
    assert warm.seconds > 0 and warm.mib_s > 0 and warm.cpu >= 0
    assert got == [len(data)]
    assert (tmp_path / "copy").read_bytes() == data
    assert srv.proc.poll() is not None  # stopped with the block


def test_warm_clients_refuses_short_answers(tmp_path: Path) -> None:
    require_binary("nginx")
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "f").write_bytes(b"abc")
    argv, base = write_nginx(tmp_path / "hub", tmp_path / "nginx")
    with running("nginx", argv, base, tmp_path / "nginx.log") as srv, pytest.raises(RuntimeError):
        warm_clients(srv, [f"{base}/f"], clients=2, expect=4)


def test_olah_argv_points_at_the_sim_and_its_cdn(tmp_path: Path) -> None:
    argv = olah_argv(
        Path("/v/bin/olah-cli"), 9000, tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2"
    )
    pairs = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert pairs == {
        "--host": "127.0.0.1",
        "--port": "9000",
        "--hf-scheme": "http",
        "--hf-netloc": "127.0.0.1:1",
        "--hf-lfs-netloc": "127.0.0.1:2",
        "--repos-path": str(tmp_path),
    }


@pytest.mark.skipif(
    olah_version(OLAH_VENV) != OLAH_VERSION,
    reason="needs .venv-olah (python -m bench serve makes it from PyPI; tests use no network)",
)
def test_olah_proxies_the_sim(tmp_path: Path) -> None:
    require_binary("curl")
    spec = RepoSpec(
        "bench/olah-check", "config.json:1KB,model.safetensors:2MB", seed=5, revisions=1
    )
    catalog = Catalog(tmp_path / "content", [spec])
    with Sim("clean", catalog=catalog, hosts=["hf-mirror", "hf-cdn"]) as sim:
        head = sim.catalog.get("model", spec.repo_id).head
        port = free_port()
        cli = OLAH_VENV / "bin" / "olah-cli"
        argv = olah_argv(cli, port, tmp_path / "repos", sim.url("hf-mirror"), sim.url("hf-cdn"))
        base = f"http://127.0.0.1:{port}"
        probe = f"/api/models/{spec.repo_id}"
        with running("olah", argv, base, tmp_path / "olah.log", probe) as srv:
            url = f"{base}/{spec.repo_id}/resolve/main/model.safetensors"
            curl_clients([[(url, tmp_path / "w1")], [(url, tmp_path / "w2")]])
            sent = sim.host("hf-cdn").bytes_sent
            warm = warm_clients(srv, [url], clients=2, expect=head.files["model.safetensors"].size)
    want = head.files["model.safetensors"].sha256
    assert hashlib.sha256((tmp_path / "w1").read_bytes()).hexdigest() == want
    assert hashlib.sha256((tmp_path / "w2").read_bytes()).hexdigest() == want
    assert sim.host("hf-cdn").bytes_sent == sent  # the warm pass came from olah's cache
    assert warm.nbytes == 2 * head.files["model.safetensors"].size


def test_report_shows_ratios_goals_and_what_was_missing() -> None:
    from bench._serve_peers import Warm
    from bench.serve import Result, report

    mib = 1 << 20
    size = 64 * mib
    ok = Result(
        "kuaidi serve",
        {"hf download": 2.1, "kuaidi get": 2.0},
        True,
        size,
        True,
        Warm(1.0, 8 * size, 0.5),
    )
    bad = Result(
        "olah 0.5.4",
        {"hf download": 8.0, "kuaidi get": None},
        True,
        2 * size,
        False,
        Warm(8.0, 8 * size, 4.0),
    )
    text = report(64, size, 2.0, True, [ok, bad], Warm(0.5, 8 * size, 0.1), ["x (why)"])
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert "2.1 s (1.05×)" in rows["| kuaidi serve"]
    assert "| 1.00× | yes | 512 | 50 % | 1.00 |" in rows["| kuaidi serve"]
    assert "failed" in rows["| olah 0.5.4"] and "| 2.00× | NO |" in rows["| olah 0.5.4"]
    assert "| 1,024 | 100 % |" in rows["| nginx (static files)"]
    assert "Not measured: x (why)." in text
