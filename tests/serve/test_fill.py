"""Pull-through fills: one upstream fetch per blob, streamed while it lands, resumed after kill -9,
verified before any client gets the last byte."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kuaidi.model import RepoRef
from kuaidi.sim import Sim
from kuaidi.sim.faults import corrupt
from kuaidi.store.hf_cache import repo_folder_name
from tests.serve.conftest import REPOS
from tests.serve.server import BIG_REPO, SERVE_REPO, Server, clean_env, expected, tree_bytes
from tests.simfixtures import run_python

pytestmark = pytest.mark.timeout(240)
MiB = 1 << 20
MODEL = SERVE_REPO.repo_id
BIG = "model.safetensors"


def _slow_sim(sim_factory: Callable[..., Sim], rate: int = 256 * 1024, **kw: object) -> Sim:
    """cn-link with a slow CDN: a fill takes seconds, so clients meet it half done."""
    return sim_factory(
        "cn-link", repos=REPOS, overrides={"hf-cdn": {"conn_rate": rate, "total_rate": rate * 4}},
        **kw,
    )  # fmt: skip


def _blob_dir(store: Path) -> Path:
    return store / repo_folder_name(RepoRef(MODEL)) / "blobs"


def _upstream_bytes(sim: Sim) -> int:
    return sim.host("hf-cdn").bytes_sent + sim.log("hf-mirror").bytes_sent("*/resolve*")


def _get(server: Server, path: str = BIG, **headers: str) -> httpx.Response:
    with server.client() as c:
        return c.get(f"/{MODEL}/resolve/main/{path}", headers=headers)


def test_streams_before_the_fill_ends_and_serves_ranges_as_they_land(
    sim_factory: Callable[..., Sim], servers, tmp_path: Path
) -> None:
    sim = _slow_sim(sim_factory)
    server = servers(sim)
    want = expected(sim, MODEL)[BIG]
    with server.client() as c:
        head = c.head(f"/{MODEL}/resolve/main/{BIG}")
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(want))
        assert head.headers["x-linked-size"] == str(len(want))
        assert head.headers["accept-ranges"] == "bytes"
        assert "x-xet-hash" not in head.headers and "x-repo-commit" in head.headers
        assert not any(_blob_dir(server.store).glob("*[0-9a-f]")), "HEAD must not fill"
        with c.stream("GET", f"/{MODEL}/resolve/main/{BIG}") as resp:
            assert resp.status_code == 200
            chunks = resp.iter_raw()
            first = next(chunks)
            assert want.startswith(first)
            # The first bytes arrived while the blob is still being filled.
            assert not (_blob_dir(server.store) / head.headers["etag"].strip('"')).exists()
            # A Range inside the filling blob is served when its bytes land.
            part = c.get(f"/{MODEL}/resolve/main/{BIG}", headers={"Range": "bytes=4194304-4200000"})
            assert part.status_code == 206
            assert part.content == want[4194304:4200001]
            assert part.headers["content-range"] == f"bytes 4194304-4200000/{len(want)}"
            rest = first + b"".join(chunks)
        assert rest == want


def test_eight_cold_clients_one_upstream_fetch(
    sim_factory: Callable[..., Sim], servers, tmp_path: Path
) -> None:
    sim = _slow_sim(sim_factory, rate=4 * MiB)
    server = servers(sim)
    repo = BIG_REPO.repo_id
    want = expected(sim, repo)
    code = (
        "import json\nfrom huggingface_hub import snapshot_download\n"
        f"print(json.dumps({{'path': snapshot_download({repo!r})}}))"
    )
    results: list[dict] = [{} for _ in range(8)]

    def client(i: int) -> None:
        env = clean_env(tmp_path / f"c{i}", HF_ENDPOINT=server.url)
        env["HF_HUB_CACHE"] = str(tmp_path / f"c{i}" / "hub")
        results[i] = run_python(code, env, timeout=180)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert r.get("returncode") == 0, r.get("stderr")
        assert tree_bytes(Path(r["path"])) == want
    size = sum(len(b) for b in want.values())
    assert _upstream_bytes(sim) <= 1.01 * size, (_upstream_bytes(sim), size)


def test_kill_9_mid_fill_resumes_from_the_journal(
    sim_factory: Callable[..., Sim], servers, tmp_path: Path
) -> None:
    sim = _slow_sim(sim_factory)
    store = tmp_path / "store"
    server = servers(sim, store=store)
    want = expected(sim, MODEL)[BIG]
    journal = None
    with server.client() as c, c.stream("GET", f"/{MODEL}/resolve/main/{BIG}") as resp:
        got = b""
        for chunk in resp.iter_raw():
            got += chunk
            if len(got) >= 2 * MiB:
                break
        journal = next(_blob_dir(store).glob("*.kuaidi-journal"))
        server.kill()
    assert journal.exists() and journal.stat().st_size > 16
    before = sim.host("hf-cdn").bytes_sent
    again = servers(sim, store=store)
    # A retrying client (huggingface_hub) gets correct bytes.
    env = clean_env(tmp_path / "retry", HF_ENDPOINT=again.url)
    env["HF_HUB_CACHE"] = str(tmp_path / "retry" / "hub")
    code = (
        "import json\nfrom huggingface_hub import hf_hub_download\n"
        f"print(json.dumps({{'path': hf_hub_download({MODEL!r}, {BIG!r})}}))"
    )
    out = run_python(code, env, timeout=180)
    assert out.get("returncode") == 0, out.get("stderr")
    assert Path(out["path"]).read_bytes() == want
    time.sleep(0.5)  # the sim logs a request when it ends
    # The restarted fill fetched only what the journal did not hold.
    assert sim.host("hf-cdn").bytes_sent - before < len(want) - MiB


def test_corrupt_upstream_bytes_never_end_a_client_cleanly(
    sim_factory: Callable[..., Sim], servers, tmp_path: Path
) -> None:
    sim = _slow_sim(sim_factory, rate=2 * MiB, faults={"hf-cdn": [corrupt("3MiB", path=f"*{BIG}")]})
    server = servers(sim)
    want = expected(sim, MODEL)[BIG]
    with server.client() as c:
        try:
            resp = c.get(f"/{MODEL}/resolve/main/{BIG}")
        except httpx.HTTPError:
            pass  # aborted: what a client must see
        else:
            assert resp.content != want[: len(resp.content)] or len(resp.content) < len(want)
            assert not (resp.status_code == 200 and len(resp.content) == len(want))
    # huggingface_hub ends with an error and no file of the wrong content in its cache.
    env = clean_env(tmp_path / "c", HF_ENDPOINT=server.url, HF_HUB_DOWNLOAD_TIMEOUT="30")
    env["HF_HUB_CACHE"] = str(tmp_path / "c" / "hub")
    code = (
        "import json\nfrom huggingface_hub import hf_hub_download\n"
        f"print(json.dumps({{'path': hf_hub_download({MODEL!r}, {BIG!r})}}))"
    )
    out = run_python(code, env, timeout=180)
    assert out.get("returncode") != 0
    for f in (tmp_path / "c" / "hub").rglob("*"):
        if f.is_file() and f.stat().st_size == len(want):
            assert f.read_bytes() == want, f"{f} is complete and wrong"
    assert server.proc is not None and server.proc.poll() is None
    assert sys.version_info >= (3, 10)
