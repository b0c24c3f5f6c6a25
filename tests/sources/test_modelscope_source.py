"""ModelScopeSource against the ModelScope sim (and, for the listing, the real modelscope SDK)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.model import RepoRef, Source
from kuaidi.net import ProxyScope, make_client
from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN
from kuaidi.sim.faults import status
from kuaidi.sources import modelscope as ms_module
from kuaidi.sources.modelscope import ModelScopeSource, ms_revision

TINY = RepoRef("kuaidi-sim/tiny-model")
DATASET = RepoRef("kuaidi-sim/tiny-dataset", "dataset")


def _source(sim: Sim, **kwargs: object) -> ModelScopeSource:
    client = make_client(ProxyScope.direct(), follow_redirects=True)
    return ModelScopeSource(sim.url("modelscope"), client, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def ms_sim(sim_factory: Callable[..., Sim]) -> Sim:
    return sim_factory("clean", hosts=["modelscope", "modelscope-cdn"])


def test_is_a_source_and_hides_the_token(ms_sim: Sim) -> None:
    source = _source(ms_sim, token=SIM_TOKEN)
    as_source: Source = source  # the Protocol, checked by mypy
    assert as_source.kind == "modelscope"
    assert SIM_TOKEN not in repr(source)
    assert ms_revision("main") == "master" and ms_revision("v1.0") == "v1.0"
    assert ModelScopeSource("www.modelscope.cn", source.client).endpoint == (
        "https://www.modelscope.cn"
    )


def test_lists_every_file_with_sha256_and_bytes_match(ms_sim: Sim) -> None:
    source = _source(ms_sim)
    listing = source.list(TINY)  # HF's "main" asks for ModelScope's "master"
    repo = ms_sim.catalog.get("model", TINY.repo_id)
    assert listing.commit == repo.head.sha
    assert listing.source == "modelscope" and listing.repo == TINY
    assert sorted(f.path for f in listing.files) == sorted(repo.head.files)
    for remote in listing.files:
        truth = repo.head.files[remote.path]
        assert remote.size == truth.size and remote.lfs == truth.lfs
        assert remote.sha256 == truth.sha256  # every file, small ones too
        assert remote.git_sha1 == (None if truth.lfs else truth.oid)
        assert remote.etag == truth.etag  # the HF cache blob name
        body = source.client.get(source.file_url(TINY, listing.commit, remote.path)).content
        assert hashlib.sha256(body).hexdigest() == remote.sha256


def test_tag_revision(ms_sim: Sim) -> None:
    repo = ms_sim.catalog.get("model", TINY.repo_id)
    listing = _source(ms_sim).list(RepoRef(TINY.repo_id, revision="v1.0"))
    assert listing.commit == repo.resolve("v1.0").sha != repo.head.sha


def test_dataset_tree_is_paged(ms_sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ms_module, "PAGE_SIZE", 2)
    listing = _source(ms_sim).list(DATASET)
    repo = ms_sim.catalog.get("dataset", DATASET.repo_id)
    assert sorted(f.path for f in listing.files) == sorted(repo.head.files)
    pages = ms_sim.log("modelscope").requests("*/repo/tree")
    assert len(pages) >= 3
    url = _source(ms_sim).file_url(DATASET, listing.commit, "data/train.csv")
    assert url.endswith("FilePath=data%2Ftrain.csv") and "Source=SDK" in url


def test_missing_and_gated(ms_sim: Sim) -> None:
    source = _source(ms_sim)
    with pytest.raises(KuaidiError, match="no model nope/nothing"):
        source.list(RepoRef("nope/nothing"))
    gated = RepoRef("LLM-Research/Llama-Sim-1B")
    with pytest.raises(KuaidiError, match="private/gated"):
        source.list(gated)
    assert _source(ms_sim, token=SIM_TOKEN).list(gated).files
    with pytest.raises(KuaidiError, match="no revision"):
        source.list(RepoRef(TINY.repo_id, revision="no-such-branch"))


def test_token_stays_on_the_hub_when_files_redirect_to_oss(
    sim_factory: Callable[..., Sim],
) -> None:
    overrides = {
        "modelscope": {"options": {"redirect_lfs_to": "modelscope-cdn", "redirect_min_size": 0}}
    }
    sim = sim_factory("clean", hosts=["modelscope", "modelscope-cdn"], overrides=overrides)
    source = _source(sim, token=SIM_TOKEN)
    listing = source.list(TINY)
    lfs = next(f for f in listing.files if f.lfs)
    route = source.route(TINY, listing.commit, lfs.path)
    resp = source.client.get(route.url, headers=route.headers_for(route.url))
    assert resp.status_code == 200 and len(resp.history) == 1  # 302 to the OSS-like CDN
    assert hashlib.sha256(resp.content).hexdigest() == lfs.sha256
    assert route.headers_for(route.url) and not route.headers_for(str(resp.url))
    assert sim.log("modelscope").saw_token(SIM_TOKEN)
    assert not sim.log("modelscope-cdn").saw_token(SIM_TOKEN)


def test_api_hiccups_are_retried(sim_factory: Callable[..., Sim]) -> None:
    faults = {"modelscope": [status(503, path="/api/v1/*", times=2)]}
    sim = sim_factory("clean", hosts=["modelscope"], faults=faults)
    assert _source(sim).list(TINY).files
    assert sim.log("modelscope").requests(status=503)


def test_listing_agrees_with_the_modelscope_sdk(ms_sim: Sim, tmp_path: Path) -> None:
    """The real SDK (modelscope 1.40.2) lists the same paths and sizes, and the bytes it
    downloads hash to the sha256 values this source lists."""
    code = (
        "import json, sys\n"
        "from modelscope.hub.api import HubApi\n"
        "from modelscope import snapshot_download\n"
        "files = HubApi(endpoint=sys.argv[1]).get_model_files(sys.argv[2], revision='master',"
        " recursive=True)\n"
        "print(json.dumps({f['Path']: f['Size'] for f in files if f.get('Type') != 'tree'}))\n"
        "print(snapshot_download(sys.argv[2], local_dir=sys.argv[3]))\n"
    )
    local = tmp_path / "sdk"
    run = subprocess.run(
        [sys.executable, "-c", code, ms_sim.url("modelscope"), TINY.repo_id, str(local)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "MODELSCOPE_CACHE": str(tmp_path / "ms-cache"),
            "MODELSCOPE_ENDPOINT": ms_sim.url("modelscope"),
        },
    )
    assert run.returncode == 0, run.stderr[-2000:]
    sdk_sizes = json.loads(run.stdout.strip().splitlines()[-2])
    listing = _source(ms_sim).list(TINY)
    assert {f.path: f.size for f in listing.files} == sdk_sizes
    for remote in listing.files:
        if remote.path == ".gitattributes":
            continue  # the SDK skips it by name
        got = hashlib.sha256((local / remote.path).read_bytes()).hexdigest()
        assert got == remote.sha256, remote.path


@pytest.mark.parametrize(
    ("message", "tries"),
    [("[Errno -2] Name or service not known", 1), ("[Errno 111] Connection refused", 3)],
)
def test_an_unknown_host_is_not_retried(message: str, tries: int) -> None:
    """Regression: a name DNS does not know was retried with sleeps (and slept after the
    last try), adding most of a second to every run on a box that cannot see ModelScope."""
    import httpx

    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        raise httpx.ConnectError(message, request=request)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    source = ModelScopeSource("https://www.modelscope.cn", client, retries=2)
    with pytest.raises(KuaidiError, match="cannot reach ModelScope"):
        source.list(RepoRef("Qwen/Qwen2.5-0.5B"))
    assert len(calls) == tries
