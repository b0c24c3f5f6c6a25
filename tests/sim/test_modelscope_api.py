"""The simulated ModelScope hub on the wire: envelope, routes, auth, Range modes, redirects."""

from __future__ import annotations

import hashlib
from urllib.parse import quote_plus

import httpx
import pytest

from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN, SIM_TOKEN_NO_ACCESS, RepoSpec
from kuaidi.sim.faults import ignore_range
from kuaidi.sim.modelscope import OSS_REDIRECT
from kuaidi.sim.modelscope_api import numeric_id

API = "/api/v1"
REPOS = [
    RepoSpec("kuaidi-sim/tiny-model", "tiny", modelscope_id="kuaidi-sim/tiny-model", revisions=3),
    RepoSpec("kuaidi-sim/demo-model", "demo", modelscope_id="kuaidi-sim/demo-model", seed=1),
    RepoSpec("kuaidi-sim/nested", "nested", modelscope_id="AI-ModelScope/nested-sim"),
    RepoSpec(
        "meta-llama/Llama-Sim-1B",
        "tiny",
        gated="manual",
        seed=2,
        modelscope_id="LLM-Research/Llama-Sim-1B",
    ),
    RepoSpec("o/private", "tiny", private=True, modelscope_id="o/private"),
    RepoSpec("o/hf-only", "tiny"),
    RepoSpec(
        "kuaidi-sim/paged-dataset",
        [(f"data/part-{i:03d}.csv", 64) for i in range(250)],
        repo_type="dataset",
        modelscope_id="kuaidi-sim/paged-dataset",
    ),
]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("content")
    hosts = ["modelscope", "modelscope-cdn"]
    with Sim("clean", cache_dir=cache, repos=REPOS, hosts=hosts, overrides=OSS_REDIRECT) as s:
        yield s


@pytest.fixture
def ms(sim: Sim):
    with httpx.Client(base_url=sim.url("modelscope"), timeout=10, trust_env=False) as client:
        yield client


def data(resp: httpx.Response) -> dict:
    body = resp.json()
    assert set(body) == {"Code", "Data", "Message", "RequestId", "Success"}
    assert body["Code"] == 200 and body["Success"] is True, body
    return body["Data"]


def test_model_info_and_missing_repos(ms: httpx.Client) -> None:
    info = data(ms.get(f"{API}/models/kuaidi-sim/tiny-model"))
    assert info["Name"] == "tiny-model" and info["Revision"] == "master"
    assert info["Visibility"] == 5
    for missing in ("o/nothing", "o/hf-only"):
        resp = ms.get(f"{API}/models/{missing}")
        assert resp.status_code == 404
        assert resp.json()["Success"] is False and resp.json()["Code"] != 200


def test_revisions_map_and_end_time(sim: Sim, ms: httpx.Client) -> None:
    revs = data(ms.get(f"{API}/models/kuaidi-sim/tiny-model/revisions"))["RevisionMap"]
    assert [b["Revision"] for b in revs["Branches"]] == ["master"]
    assert [t["Revision"] for t in revs["Tags"]] == ["v1.0"]
    created = revs["Tags"][0]["CreatedAt"]
    early = ms.get(f"{API}/models/kuaidi-sim/tiny-model/revisions", params={"EndTime": created - 1})
    assert data(early)["RevisionMap"]["Tags"] == []


def test_file_listing_revision_recursive_root(sim: Sim, ms: httpx.Client) -> None:
    repo = sim.catalog.modelscope("model", "AI-ModelScope/nested-sim")
    url = f"{API}/models/AI-ModelScope/nested-sim/repo/files"
    files = data(ms.get(url, params={"Revision": "master", "Recursive": "True"}))["Files"]
    blobs = {f["Path"]: f for f in files if f["Type"] == "blob"}
    assert set(blobs) == set(repo.head.files)
    for path, entry in blobs.items():
        want = repo.head.files[path]
        assert (entry["Sha256"], entry["Size"], entry["IsLFS"]) == (
            want.sha256,
            want.size,
            want.lfs,
        )
        assert entry["Name"] == path.rsplit("/", 1)[-1] and entry["Revision"] == repo.head.sha
    assert {f["Path"] for f in files if f["Type"] == "tree"} == {"unet", "vae"}

    shallow = data(ms.get(url, params={"Revision": "master", "Recursive": "False"}))["Files"]
    assert {f["Path"] for f in shallow} == {
        ".gitattributes",
        "README.md",
        "config.json",
        "unet",
        "vae",
    }
    rooted = data(ms.get(url, params={"Revision": "master", "Recursive": "True", "Root": "unet"}))
    assert {f["Path"] for f in rooted["Files"]} == {
        "unet/config.json",
        "unet/diffusion_model.safetensors",
    }


def test_revision_selects_commit_and_main_is_unknown(sim: Sim, ms: httpx.Client) -> None:
    repo = sim.catalog.modelscope("model", "kuaidi-sim/tiny-model")
    url = f"{API}/models/kuaidi-sim/tiny-model/repo/files"
    for rev, commit in (("v1.0", repo.commits[0]), (repo.commits[1].sha, repo.commits[1])):
        files = data(ms.get(url, params={"Revision": rev, "Recursive": "True"}))["Files"]
        assert {f["Path"]: f["Sha256"] for f in files} == {
            p: f.sha256 for p, f in commit.files.items()
        }
    assert ms.get(url, params={"Revision": "main"}).status_code == 404


def test_download_quote_plus_path_and_range(sim: Sim, ms: httpx.Client) -> None:
    repo = sim.catalog.modelscope("model", "AI-ModelScope/nested-sim")
    f = repo.head.files["unet/diffusion_model.safetensors"]
    # Exactly the URL modelscope_hub builds: quote_plus on Revision and FilePath.
    url = (
        f"{API}/models/AI-ModelScope/nested-sim/repo?Revision=master&FilePath={quote_plus(f.path)}"
    )
    whole = ms.get(url)
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == f.sha256
    assert whole.headers["x-linked-etag"].strip('"') == f.sha256
    part = ms.get(url, headers={"Range": "bytes=100-"})
    assert (
        part.status_code == 206
        and part.headers["content-range"] == f"bytes 100-{f.size - 1}/{f.size}"
    )
    assert part.content == whole.content[100:]
    bad = ms.get(url, headers={"Range": f"bytes={f.size + 5}-{f.size + 9}"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{f.size}"
    hf_style = ms.get(f"/models/AI-ModelScope/nested-sim/resolve/master/{f.path}")
    assert hf_style.content == whole.content
    assert ms.get(url.replace("FilePath=unet", "FilePath=nope")).status_code == 404


def test_range_answered_with_200_and_content_range(tmp_path) -> None:
    overrides = {"modelscope": {"options": {"range_mode": "200-with-content-range"}}}
    with (
        Sim(
            "clean", cache_dir=tmp_path, repos=REPOS[:1], hosts=["modelscope"], overrides=overrides
        ) as sim,
        httpx.Client(base_url=sim.url("modelscope"), trust_env=False) as ms,
    ):
        f = sim.catalog.modelscope("model", "kuaidi-sim/tiny-model").head.files["model.safetensors"]
        url = f"{API}/models/kuaidi-sim/tiny-model/repo?Revision=master&FilePath=model.safetensors"
        resp = ms.get(url, headers={"Range": "bytes=1000-"})
        assert resp.status_code == 200
        assert resp.headers["content-range"] == f"bytes 1000-{f.size - 1}/{f.size}"
        assert resp.content == f.blob_path.read_bytes()[1000:]


def test_range_quirk_as_a_fault(sim: Sim, ms: httpx.Client) -> None:
    rule = ignore_range(mode="ignore", path=f"{API}/models/kuaidi-sim/tiny-model/repo", times=1)
    sim.host("modelscope").faults.add(rule)
    try:
        url = f"{API}/models/kuaidi-sim/tiny-model/repo?Revision=master&FilePath=README.md"
        first = ms.get(url, headers={"Range": "bytes=10-"})
        second = ms.get(url, headers={"Range": "bytes=10-"})
        assert first.status_code == 200 and "content-range" not in first.headers
        assert second.status_code == 206 and second.content == first.content[10:]
    finally:
        sim.host("modelscope").faults.clear()


def test_large_lfs_files_redirect_to_the_cdn(sim: Sim, ms: httpx.Client) -> None:
    f = sim.catalog.modelscope("model", "kuaidi-sim/demo-model").head.files["model.safetensors"]
    url = f"{API}/models/kuaidi-sim/demo-model/repo?Revision=master&FilePath=model.safetensors"
    resp = ms.get(url)
    assert resp.status_code == 302
    assert resp.headers["location"].startswith(sim.url("modelscope-cdn") + f"/blobs/{f.sha256}/")
    assert resp.headers["x-linked-etag"].strip('"') == f.sha256
    with httpx.Client(trust_env=False) as cdn:
        body = cdn.get(resp.headers["location"], headers={"Range": "bytes=0-99"})
    assert body.status_code == 206 and body.content == f.blob_path.read_bytes()[:100]
    # Small files are answered by the hub itself.
    small = ms.get(url.replace("model.safetensors", "config.json"))
    assert small.status_code == 200


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"m_session_id={token}"}


def test_auth_cookie_bearer_invalid_and_gated(ms: httpx.Client) -> None:
    gated = f"{API}/models/LLM-Research/Llama-Sim-1B"
    for suffix in ("", "/revisions", "/repo/files?Revision=master"):
        assert ms.get(gated + suffix).status_code == 404
        assert ms.get(gated + suffix, headers=cookie(SIM_TOKEN_NO_ACCESS)).status_code == 404
        assert ms.get(gated + suffix, headers=cookie(SIM_TOKEN)).status_code == 200
    bearer = ms.get(gated, headers={"Authorization": f"Bearer {SIM_TOKEN}"})
    assert bearer.status_code == 200
    assert ms.get(f"{API}/models/o/private").status_code == 404
    assert ms.get(f"{API}/models/o/private", headers=cookie(SIM_TOKEN)).status_code == 200
    invalid = ms.get(
        f"{API}/models/kuaidi-sim/tiny-model", headers={"Authorization": "Bearer nope"}
    )
    assert invalid.status_code == 403 and invalid.json()["Success"] is False


def test_login_sets_the_session_cookie(ms: httpx.Client) -> None:
    ok = ms.post(f"{API}/login", json={"AccessToken": SIM_TOKEN})
    assert data(ok)["Username"] and ok.cookies.get("m_session_id") == SIM_TOKEN
    assert ms.post(f"{API}/login", json={"AccessToken": "wrong"}).status_code == 401


def test_acceleration_probe_is_404(ms: httpx.Client) -> None:
    assert ms.get(f"{API}/repos/internalAccelerationInfo").status_code == 404


def test_dataset_id_paged_tree_and_download(sim: Sim, ms: httpx.Client) -> None:
    ds = "kuaidi-sim/paged-dataset"
    info = data(ms.get(f"{API}/datasets/{ds}"))
    assert info["Id"] == numeric_id("dataset", ds)
    seen: list[dict] = []
    sizes = []
    for page in range(1, 10):
        params = {
            "Revision": "master",
            "Root": "/",
            "Recursive": "True",
            "PageNumber": page,
            "PageSize": 100,
        }
        files = data(ms.get(f"{API}/datasets/{info['Id']}/repo/tree", params=params))["Files"]
        sizes.append(len(files))
        seen += files
        if len(files) < 100:
            break
    assert sizes[-1] < 100 and sum(sizes) == len(seen)
    repo = sim.catalog.modelscope("dataset", ds)
    assert {f["Path"] for f in seen if f["Type"] == "blob"} == set(repo.head.files)
    named = ms.get(f"{API}/datasets/{ds}/repo/tree", params={"PageNumber": 3, "PageSize": 100})
    assert len(data(named)["Files"]) == sizes[2]
    f = repo.head.files["data/part-007.csv"]
    query = "Source=SDK&Revision=master&FilePath=data%2Fpart-007.csv&View=False"
    old_sdk = f"{API}/datasets/{ds}/repo?{query}"
    assert ms.get(old_sdk).content == f.blob_path.read_bytes()


def test_empty_bodies_option(tmp_path) -> None:
    options = {"empty_bodies": {"path": "*/repo", "times": 2}}
    with (
        Sim(
            "clean",
            cache_dir=tmp_path,
            repos=REPOS[:1],
            hosts=["modelscope"],
            overrides={"modelscope": {"options": options}},
        ) as sim,  # fmt: skip
        httpx.Client(base_url=sim.url("modelscope"), trust_env=False) as ms,
    ):
        url = f"{API}/models/kuaidi-sim/tiny-model/repo?Revision=master&FilePath=config.json"
        got = [ms.get(url) for _ in range(3)]
        assert [(r.status_code, len(r.content)) for r in got[:2]] == [(200, 0), (200, 0)]
        assert got[2].status_code == 200 and len(got[2].content) > 0
        assert sim.app("modelscope").empty_fired == 2


def test_without_oss_redirect_the_hub_serves_large_files(sim_cache) -> None:
    with (
        Sim("clean", cache_dir=sim_cache, repos=REPOS[1:2], hosts=["modelscope"]) as sim,
        httpx.Client(base_url=sim.url("modelscope"), trust_env=False) as ms,
    ):
        f = sim.catalog.modelscope("model", "kuaidi-sim/demo-model").head.files["model.safetensors"]
        url = f"{API}/models/kuaidi-sim/demo-model/repo?Revision=master&FilePath=model.safetensors"
        resp = ms.get(url)
        assert resp.status_code == 200 and hashlib.sha256(resp.content).hexdigest() == f.sha256
