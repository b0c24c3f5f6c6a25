"""The engine's ladder against the sim: a file that fails on one route moves to the next,
a large file is spread over two equal sources, and every run ends verified (or names the file).

These drive the engine directly with routes built from real listings (HF mirror + ModelScope);
``kuaidi get`` builds the same routes from its plan (tests/ladder).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kuaidi.model import RepoRef
from kuaidi.net.client import make_client
from kuaidi.net.scope import ProxyScope
from kuaidi.sim import Sim
from kuaidi.sim import faults as F
from kuaidi.sim.content import Catalog, RepoSpec
from kuaidi.sources.hf import HFSource
from kuaidi.sources.modelscope import ModelScopeSource
from kuaidi.sources.routeplan import plan_routes, to_routes
from kuaidi.store.hf_cache import HFCacheTarget
from kuaidi.transfer.engine import Engine, EngineOptions, FileJob, RunReport

REPO = "kuaidi-test/both"
SPEC = "config.json:1KB,model.safetensors:6MB,small.bin:300KB"
MiB = 1 << 20


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    spec = RepoSpec(REPO, SPEC, seed=11, revisions=1, modelscope_id=REPO)
    return Catalog(tmp_path_factory.mktemp("routing-content"), [spec])


@pytest.fixture
def make_sim(catalog: Catalog) -> Iterator:  # type: ignore[type-arg]
    started: list[Sim] = []

    def make(**kw: object) -> Sim:
        hosts = ["hf-mirror", "hf-cdn", "modelscope"]
        sim = Sim("clean", catalog=catalog, hosts=hosts, **kw).start()  # type: ignore[arg-type]
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def deliver(sim: Sim, cache: Path, **opts: object) -> tuple[RunReport, Path]:
    """Plan mirror → ModelScope for REPO and run the engine; returns (report, snapshot)."""
    timeout = httpx.Timeout(connect=5.0, read=1.0, write=5.0, pool=None)  # read = stall watchdog
    client = make_client(ProxyScope.direct(), timeout=timeout)
    repo = RepoRef(REPO)
    mirror = HFSource(sim.url("hf-mirror"), client, name="hf-mirror")
    ms = ModelScopeSource(sim.url("modelscope"), client)
    plan = plan_routes(mirror.list(repo), [ms.list(repo)])
    sources = {"hf-mirror": mirror, "modelscope": ms}
    jobs = [FileJob(fp.expected, to_routes(fp, sources)) for fp in plan.files]
    listing = mirror.list(repo)
    target = HFCacheTarget(cache, repo, listing.commit)
    target.prepare()
    options = EngineOptions(**{"connections": 4, "stall_timeout": 1.0, **opts})  # type: ignore[arg-type]
    report = Engine(target, options).run(jobs)
    snapshot = target.finish(listing, listing.tree) if report.ok else target.snapshot
    client.close()
    return report, Path(snapshot)


def assert_verified(sim: Sim, snapshot: Path) -> None:
    commit = sim.catalog.get("model", REPO).resolve("main")
    assert commit is not None
    for path, f in commit.files.items():
        got = (snapshot / path).read_bytes()
        assert hashlib.sha256(got).hexdigest() == f.sha256, path


def by_path(report: RunReport) -> dict[str, dict[str, int]]:
    return {f.path: f.sources for f in report.files}


def test_no_fault_every_byte_from_the_first_route(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    report, snap = deliver(sim, tmp_path, share=False)
    assert report.ok
    assert_verified(sim, snap)
    assert all(set(s) == {"hf-mirror"} for s in by_path(report).values())
    assert sim.log("modelscope").requests("*/repo") == []


@pytest.mark.parametrize(
    ("host", "rule"),
    [
        ("hf-cdn", F.status(404, path="*/model.safetensors")),
        ("hf-cdn", F.status(503, path="*/model.safetensors")),
        ("hf-cdn", F.stall(after="100KiB", path="*/model.safetensors")),
        ("hf-cdn", F.reset(after="100KiB", path="*/model.safetensors")),
        ("hf-cdn", F.corrupt(offset=12_345, path="*/model.safetensors")),
    ],
    ids=["404", "503", "stall", "reset", "corrupt"],
)
def test_a_file_failing_on_the_mirror_moves_to_modelscope(
    make_sim,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    host: str,
    rule: F.FaultRule,
) -> None:
    sim = make_sim(faults={host: [rule]})
    report, snap = deliver(sim, tmp_path, share=False)
    assert report.ok, report.failed
    assert_verified(sim, snap)
    served = by_path(report)
    assert "modelscope" in served["model.safetensors"]
    assert set(served["config.json"]) == {"hf-mirror"}  # only the failing file moved


def test_a_trickling_mirror_counts_as_stalled(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(overrides={"hf-cdn": {"conn_rate": 8 * 1024}})
    report, snap = deliver(sim, tmp_path, share=False, min_speed=256 * 1024, stall_timeout=0.5)
    assert report.ok, report.failed
    assert_verified(sim, snap)
    assert "modelscope" in by_path(report)["model.safetensors"]


def test_every_route_failing_names_the_file_and_each_source(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(
        faults={
            "hf-cdn": [F.status(404, path="*/model.safetensors")],
            "modelscope": [F.status(404, path="*/repo")],  # every file (the path is a query)
        }
    )
    report, _ = deliver(sim, tmp_path, share=False)
    assert [f.path for f in report.failed] == ["model.safetensors"]
    error = report.failed[0].error or ""
    assert "hf-mirror" in error and "modelscope" in error
    blobs = tmp_path / "models--kuaidi-test--both" / "blobs"
    partial = [p.name for p in blobs.iterdir()] if blobs.exists() else []
    assert all(not p.endswith(".safetensors") for p in partial)


def test_a_large_file_is_shared_by_both_sources(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    report, snap = deliver(sim, tmp_path, share_min=1 * MiB, piece=1 * MiB, min_split=256 * 1024)
    assert report.ok, report.failed
    assert_verified(sim, snap)
    served = by_path(report)["model.safetensors"]
    assert set(served) == {"hf-mirror", "modelscope"}
    size = next(f.size for f in report.files if f.path == "model.safetensors")
    assert sum(served.values()) == size  # no byte fetched twice
    assert set(by_path(report)["config.json"]) == {"hf-mirror"}  # small files: first route


def test_a_shared_file_with_one_bad_source_finds_the_culprit(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # ModelScope corrupts every copy; both sources serve the first attempt, so the mismatch
    # cannot be blamed: the next attempt is from one route, and the one after from the other.
    bad = [F.corrupt(offset=k * MiB + 10, path="*/repo") for k in range(1, 6)]
    sim = make_sim(faults={"modelscope": bad})
    report, snap = deliver(sim, tmp_path, share_min=1 * MiB, piece=1 * MiB, min_split=256 * 1024)
    assert report.ok, report.failed
    assert_verified(sim, snap)


def test_modelscope_redirects_to_its_cdn_and_a_signature_expires(
    catalog: Catalog, tmp_path: Path
) -> None:
    """ModelScope's LFS files come from its OSS CDN by signed URL; one that expires mid-file is
    re-resolved through ModelScope and the file ends verified."""
    overrides = {"modelscope": {"options": {"redirect_lfs_to": "modelscope-cdn"}}}
    hosts = ["hf-mirror", "hf-cdn", "modelscope", "modelscope-cdn"]
    faults = {
        "hf-cdn": [F.status(404, path="*/model.safetensors")],
        "modelscope-cdn": [F.expire(path="*/model.safetensors", times=2)],
    }
    with Sim("clean", catalog=catalog, hosts=hosts, overrides=overrides, faults=faults) as sim:
        report, snap = deliver(sim, tmp_path, share=False)
        assert report.ok, report.failed
        assert_verified(sim, snap)
        assert "modelscope" in by_path(report)["model.safetensors"]
        assert sim.log("modelscope-cdn").requests("*/model.safetensors")
        assert sim.host("modelscope-cdn").faults.fired_count() == 2
