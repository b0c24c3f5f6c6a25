"""The HF protocol app at the HTTP level: shapes, headers, pagination, errors, redirects."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from kuaidi.sim.content import SIM_TOKEN, SIM_TOKEN_NO_ACCESS

TINY = "kuaidi-sim/tiny-model"


@pytest.fixture
def hub(sim_factory):
    sim = sim_factory(hosts=["hf-mirror", "hf-cdn", "origin"])
    with httpx.Client(base_url=sim.url("hf-mirror"), timeout=10) as client:
        yield sim, client


def test_repo_info_and_blobs(hub):
    sim, client = hub
    repo = sim.catalog.get("model", TINY)
    info = client.get(f"/api/models/{TINY}").json()
    assert info["id"] == TINY and info["sha"] == repo.head.sha and info["gated"] is False
    assert {s["rfilename"] for s in info["siblings"]} == set(repo.head.files)
    old = client.get(f"/api/models/{TINY}/revision/v1.0?blobs=true").json()
    assert old["sha"] == repo.commits[0].sha
    st = next(s for s in old["siblings"] if s["rfilename"] == "model.safetensors")
    f = repo.commits[0].files["model.safetensors"]
    assert st["lfs"] == {"sha256": f.sha256, "size": f.size, "pointerSize": len(f.pointer)}
    assert st["size"] == f.size and st["blobId"] == f.oid
    gated = client.get("/api/models/kuaidi-sim/gated-model").json()
    assert gated["gated"] == "manual"
    ds = client.get("/api/datasets/kuaidi-sim/tiny-dataset").json()
    assert "mainSize" in ds and ds["id"] == "kuaidi-sim/tiny-dataset"


def test_tree_entries_recursive_and_expand(hub):
    sim, client = hub
    commit = sim.catalog.get("model", "kuaidi-sim/nested-model").head
    top = client.get("/api/models/kuaidi-sim/nested-model/tree/main").json()
    assert {e["path"] for e in top} == {".gitattributes", "config.json", "README.md", "unet", "vae"}
    everything = client.get(
        "/api/models/kuaidi-sim/nested-model/tree/main", params={"recursive": "true"}
    ).json()
    files = {e["path"]: e for e in everything if e["type"] == "file"}
    assert set(files) == set(commit.files)
    lfs = files["unet/diffusion_model.safetensors"]
    f = commit.files["unet/diffusion_model.safetensors"]
    assert lfs["lfs"]["oid"] == f.sha256 and lfs["oid"] == f.oid and lfs["size"] == f.size
    assert files["config.json"]["oid"] == commit.files["config.json"].git_sha1
    sub = client.get("/api/models/kuaidi-sim/nested-model/tree/main/unet").json()
    assert {e["path"] for e in sub} == {"unet/config.json", "unet/diffusion_model.safetensors"}
    expanded = client.get(
        "/api/models/kuaidi-sim/nested-model/tree/main", params={"expand": "true"}
    ).json()
    assert all("lastCommit" in e for e in expanded)
    missing = client.get("/api/models/kuaidi-sim/nested-model/tree/main/nope")
    assert missing.status_code == 404


def test_tree_pagination_link_and_the_foreign_host_bug(sim_factory):
    sim = sim_factory(
        hosts=["hf-mirror", "origin"],
        overrides={"hf-mirror": {"options": {"page_size": 2, "link_host": "origin"}}},
    )
    url = sim.url("hf-mirror") + "/api/models/kuaidi-sim/nested-model/tree/main?recursive=true"
    with httpx.Client(timeout=10) as client:
        page = client.get(url)
        nxt = page.links["next"]["url"]
        assert nxt.startswith(sim.url("origin") + "/api/models/kuaidi-sim/nested-model/tree/main?")
        assert "cursor=" in nxt and "recursive=true" in nxt
        seen = [e["path"] for e in page.json()]
        # follow the Link, but on our own host (what kuaidi does: rewrite the Link host)
        while "next" in page.links:
            page = client.get(
                page.links["next"]["url"].replace(sim.url("origin"), sim.url("hf-mirror"))
            )
            seen += [e["path"] for e in page.json()]
    commit = sim.catalog.get("model", "kuaidi-sim/nested-model").head
    assert set(commit.files) <= set(seen) and len(seen) == len(set(seen))
    assert sim.log("origin").requests("*/tree/*") == []


def test_paths_info_omits_missing_and_treesize(hub):
    sim, client = hub
    commit = sim.catalog.get("model", TINY).head
    got = client.post(
        f"/api/models/{TINY}/paths-info/main",
        data={"paths": ["config.json", "nope.txt", "model.safetensors"], "expand": "false"},
    ).json()
    assert [e["path"] for e in got] == ["config.json", "model.safetensors"]
    size = client.get(f"/api/models/{TINY}/treesize/main").json()["size"]
    assert size == commit.size


def test_resolve_small_file_307_to_resolve_cache(hub):
    sim, client = hub
    f = sim.catalog.get("model", TINY).head.files["config.json"]
    head = client.head(f"/{TINY}/resolve/main/config.json")
    assert head.status_code == 307
    loc = head.headers["location"]
    assert loc.startswith(f"/api/resolve-cache/models/{TINY}/")
    final = client.head(loc)
    assert final.status_code == 200
    assert final.headers["etag"] == f'"{f.git_sha1}"'
    assert final.headers["x-repo-commit"] == sim.catalog.get("model", TINY).head.sha
    assert int(final.headers["content-length"]) == f.size
    assert client.get(loc).content == f.blob_path.read_bytes()


def test_resolve_lfs_302_to_cdn_with_linked_headers(hub):
    sim, client = hub
    repo = sim.catalog.get("model", TINY)
    f = repo.head.files["model.safetensors"]
    head = client.head(f"/{TINY}/resolve/main/model.safetensors")
    assert head.status_code == 302
    assert head.headers["x-linked-etag"] == f'"{f.sha256}"'
    assert head.headers["x-linked-size"] == str(f.size)
    assert head.headers["x-repo-commit"] == repo.head.sha
    loc = head.headers["location"]
    assert loc.startswith(sim.url("hf-cdn") + "/blobs/") and "Expires=" in loc
    body = httpx.get(loc, timeout=10).content
    assert hashlib.sha256(body).hexdigest() == f.sha256
    assert "x-xet-hash" not in head.headers


def test_quoted_and_commit_revisions(hub):
    sim, client = hub
    repo = sim.catalog.get("model", TINY)
    r = client.head(f"/{TINY}/resolve/refs%2Fpr%2F1/config.json")
    assert r.status_code == 307 and r.headers["x-repo-commit"] == repo.commits[0].sha
    r = client.head(f"/{TINY}/resolve/{repo.commits[0].sha}/config.json")
    assert r.headers["x-repo-commit"] == repo.commits[0].sha
    info = client.get(f"/api/models/{TINY}/revision/refs%2Fpr%2F1").json()
    assert info["sha"] == repo.commits[0].sha


def test_error_codes_as_the_hub_sends_them(hub):
    sim, client = hub
    sha = sim.catalog.get("model", TINY).head.sha
    r = client.get("/api/models/nobody/nothing")
    assert (r.status_code, r.headers["x-error-code"]) == (401, "RepoNotFound")
    r = client.get("/api/models/nobody/nothing", headers={"Authorization": f"Bearer {SIM_TOKEN}"})
    assert (r.status_code, r.headers["x-error-code"]) == (404, "RepoNotFound")
    r = client.head(f"/{TINY}/resolve/nobranch/config.json")
    assert (r.status_code, r.headers["x-error-code"]) == (404, "RevisionNotFound")
    assert "nobranch" in r.headers["x-error-message"]
    r = client.head(f"/{TINY}/resolve/main/missing.txt")
    assert (r.status_code, r.headers["x-error-code"]) == (404, "EntryNotFound")
    assert r.headers["x-repo-commit"] == sha
    r = client.get("/api/models/kuaidi-sim/private-model")
    assert (r.status_code, r.headers["x-error-code"]) == (401, "RepoNotFound")
    r = client.get("/api/models/x/y", headers={"Authorization": "Bearer hf_bogus"})
    assert r.status_code == 401 and "Invalid credentials" in r.headers["x-error-message"]


def test_gated_repo_needs_a_granted_token(hub):
    _, client = hub
    path = "/kuaidi-sim/gated-model/resolve/main/config.json"
    r = client.head(path)
    assert (r.status_code, r.headers["x-error-code"]) == (401, "GatedRepo")
    r = client.head(path, headers={"Authorization": f"Bearer {SIM_TOKEN_NO_ACCESS}"})
    assert (r.status_code, r.headers["x-error-code"]) == (403, "GatedRepo")
    r = client.head(path, headers={"Authorization": f"Bearer {SIM_TOKEN}"})
    assert r.status_code == 307


def test_renamed_repo_answers_relative_307(hub):
    _, client = hub
    r = client.get("/api/models/kuaidi-sim/old-tiny-model/revision/main")
    assert r.status_code == 307
    assert r.headers["location"] == f"/api/models/{TINY}/revision/main"
    assert (
        client.get("/api/models/kuaidi-sim/old-tiny-model", follow_redirects=True).json()["id"]
        == TINY
    )


def test_host_lacks_repo_and_stale_main(sim_factory):
    sim = sim_factory(
        hosts=["hf-mirror"],
        overrides={
            "hf-mirror": {"options": {"lacks": ["kuaidi-sim/nested-*"], "stale": {TINY: 1}}}
        },
    )
    base = sim.url("hf-mirror")
    assert httpx.get(f"{base}/api/models/kuaidi-sim/nested-model").status_code == 401
    info = httpx.get(f"{base}/api/models/{TINY}").json()
    assert info["sha"] == sim.catalog.get("model", TINY).commits[0].sha


def test_xet_headers_point_at_an_unreachable_cas(sim_factory):
    sim = sim_factory(
        hosts=["hf-mirror", "hf-cdn"], overrides={"hf-mirror": {"options": {"xet": True}}}
    )
    base = sim.url("hf-mirror")
    head = httpx.head(f"{base}/{TINY}/resolve/main/model.safetensors")
    assert len(head.headers["x-xet-hash"]) == 64
    assert 'rel="xet-auth"' in head.headers["link"]
    tok = httpx.get(f"{base}/api/models/{TINY}/xet-read-token/main")
    assert tok.headers["x-xet-cas-url"] == "http://127.0.0.1:9"
    tree = httpx.get(f"{base}/api/models/{TINY}/tree/main").json()
    assert any("xetHash" in e for e in tree)


def test_referer_trap_answers_html_with_200(sim_factory):
    sim = sim_factory(
        hosts=["hf-mirror"], overrides={"hf-mirror": {"options": {"referer_trap": True}}}
    )
    url = f"{sim.url('hf-mirror')}/{TINY}/resolve/main/config.json"
    trapped = httpx.get(url, headers={"Referer": "https://example.com/page"})
    assert trapped.status_code == 200 and trapped.headers["content-type"].startswith("text/html")
    assert "x-repo-commit" not in trapped.headers
    assert httpx.get(url).status_code == 307  # no Referer: the normal answer
    assert sim.hosts["hf-mirror"].bytes_sent_for("*/resolve/*") == len(trapped.content)
