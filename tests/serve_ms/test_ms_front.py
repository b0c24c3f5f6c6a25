"""The ModelScope front over an in-memory Hub: shapes, names, Range, errors, tokens."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from kuaidi.errors import GatedRepo, SourceUnavailable, TokenRejected
from kuaidi.model.repo import RemoteFile, RepoRef
from kuaidi.serve.modelscope import MSError, byte_range, hub_ids, routes
from kuaidi.sources import idmap
from tests.serve_ms.fakehub import FakeHub

WEIGHTS = bytes(range(256)) * 1024  # 256 KiB
CONFIG = b'{"model_type": "sim"}'
IDS = idmap.IdMap.parse('[org]\nmeta-llama = ["LLM-Research"]\n', "test idmap")


@pytest.fixture
def hub() -> FakeHub:
    h = FakeHub()
    h.add(
        "org/model",
        {"config.json": CONFIG, "model.safetensors": WEIGHTS, "sub/dir/a.txt": b"a"},
        lfs=("model.safetensors",),
    )
    h.add("org/model", {"config.json": b"{}"}, revision="v1.0")
    h.add("meta-llama/Llama-Sim", {"config.json": CONFIG})
    h.add("org/data", {f"d/{i:03}.csv": b"x" * i for i in range(7)}, repo_type="dataset")
    return h


@pytest.fixture
def client(hub: FakeHub) -> TestClient:
    return TestClient(Starlette(routes=routes(hub, ids=IDS)))


def data(resp: httpx.Response) -> dict:
    body = resp.json()
    assert set(body) == {"Code", "Data", "Message", "RequestId", "Success"}
    return body["Data"]


def test_files_list_the_hubs_main_as_master_with_sha256(client: TestClient, hub: FakeHub) -> None:
    resp = client.get("/api/v1/models/org/model/repo/files?Revision=master&Recursive=True")
    assert resp.status_code == 200
    files = {f["Path"]: f for f in data(resp)["Files"]}
    assert hub.asked[-1] == RepoRef("org/model", "model", "main")
    weights = files["model.safetensors"]
    assert weights["Sha256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert (weights["Size"], weights["Type"], weights["IsLFS"]) == (len(WEIGHTS), "blob", True)
    # A git-only file: no sha256 in the Hub's listing, so none is claimed.
    assert files["config.json"]["Sha256"] == "" and files["config.json"]["Size"] == len(CONFIG)
    assert files["sub"]["Type"] == "tree" and files["sub/dir"]["Type"] == "tree"


def test_files_one_level_and_under_a_root(client: TestClient) -> None:
    top = client.get("/api/v1/models/org/model/repo/files?Recursive=false")
    assert [(f["Path"], f["Type"]) for f in data(top)["Files"]] == [
        ("sub", "tree"),
        ("config.json", "blob"),
        ("model.safetensors", "blob"),
    ]
    under = client.get("/api/v1/models/org/model/repo/files?Root=sub/dir")
    assert [f["Path"] for f in data(under)["Files"]] == ["sub/dir/a.txt"]


def test_a_tag_goes_to_the_hub_by_name(client: TestClient, hub: FakeHub) -> None:
    resp = client.get("/api/v1/models/org/model/repo/files?Revision=v1.0")
    assert [f["Path"] for f in data(resp)["Files"]] == ["config.json"]
    assert hub.asked[-1].revision == "v1.0"
    missing = client.get("/api/v1/models/org/model/repo/files?Revision=v9")
    assert missing.status_code == 404 and missing.json()["Success"] is False


def test_info_and_revisions(client: TestClient, hub: FakeHub) -> None:
    info = data(client.get("/api/v1/models/org/model"))
    listing = hub.listings[("model", "org/model", "main")]
    assert (info["Path"], info["Name"], info["LatestCommitId"]) == ("org", "model", listing.commit)
    revs = data(client.get("/api/v1/models/org/model/revisions"))["RevisionMap"]
    assert revs["Branches"] == [{"Revision": "master", "CreatedAt": 0, "CommitId": listing.commit}]


def test_dataset_tree_pages(client: TestClient) -> None:
    url = "/api/v1/datasets/org/data/repo/tree?Revision=master&Recursive=True&PageSize=3"
    pages = [data(client.get(f"{url}&PageNumber={n}"))["Files"] for n in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [3, 3, 2, 0]  # 1 tree entry + 7 files
    bad = client.get(f"{url}&PageNumber=x")
    assert bad.status_code == 400


def test_download_whole_and_ranges(client: TestClient) -> None:
    url = "/api/v1/models/org/model/repo?Revision=master&FilePath=model.safetensors"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.content == WEIGHTS
    assert whole.headers["content-length"] == str(len(WEIGHTS))
    assert whole.headers["x-linked-etag"] == f'"{hashlib.sha256(WEIGHTS).hexdigest()}"'
    part = client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == WEIGHTS[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(WEIGHTS)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == WEIGHTS[-10:]
    resume = client.get(url, headers={"Range": f"bytes={len(WEIGHTS) - 5}-"})
    assert resume.content == WEIGHTS[-5:]
    past = client.get(url, headers={"Range": f"bytes={len(WEIGHTS)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(WEIGHTS)}"
    several = client.get(url, headers={"Range": "bytes=0-1,5-9"})
    assert several.status_code == 200 and several.content == WEIGHTS  # ignored, as RFC allows
    head = client.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(WEIGHTS))


def test_bad_paths_and_missing_files(client: TestClient, hub: FakeHub) -> None:
    for path in ("../etc/passwd", "/abs/../x", "a\\b", "", "a//b"):
        resp = client.get("/api/v1/models/org/model/repo", params={"FilePath": path})
        assert resp.status_code in (400, 404), path
    assert hub.opened == []
    gone = client.get("/api/v1/models/org/model/repo?FilePath=nope.bin")
    assert gone.status_code == 404 and "nope.bin" in gone.json()["Message"]
    assert client.get("/api/v1/spaces/org/model/repo/files").status_code == 404
    assert client.get("/api/v1/models/org/nothing/repo/files").status_code == 404
    assert client.get("/api/v1/repos/internalAccelerationInfo").status_code == 404


def test_a_modelscope_org_is_found_under_its_hub_org(client: TestClient, hub: FakeHub) -> None:
    resp = client.get("/api/v1/models/LLM-Research/Llama-Sim/repo/files")
    assert [f["Path"] for f in data(resp)["Files"]] == ["config.json"]
    asked = [r.repo_id for r in hub.asked]
    assert asked == ["LLM-Research/Llama-Sim", "meta-llama/Llama-Sim"]
    client.get("/api/v1/models/LLM-Research/Llama-Sim/repo?FilePath=config.json")
    assert [r.repo_id for r in hub.asked][2:] == ["meta-llama/Llama-Sim"]  # remembered


def test_hub_ids_orders_candidates() -> None:
    assert hub_ids("LLM-Research/X", IDS) == ["LLM-Research/X", "meta-llama/X"]
    assert hub_ids("Qwen/Q", IDS) == ["Qwen/Q"]


def test_the_clients_token_reaches_the_hub(client: TestClient, hub: FakeHub) -> None:
    url = "/api/v1/models/org/model/repo?FilePath=config.json"
    client.get(url, headers={"Authorization": "Bearer tok-a"})
    assert hub.tokens[-2:] == ["tok-a", "tok-a"]
    client.get(url, headers={"Cookie": "other=1; m_session_id=tok-b"})
    assert hub.tokens[-2:] == ["tok-b", "tok-b"]
    client.cookies.clear()
    client.get(url)
    assert hub.tokens[-2:] == [None, None]


def test_login_hands_the_token_back_as_the_session_cookie(client: TestClient) -> None:
    resp = client.post("/api/v1/login", json={"AccessToken": "tok-c"})
    assert resp.status_code == 200 and resp.cookies.get("m_session_id") == "tok-c"
    assert "tok-c" not in resp.text
    assert client.post("/api/v1/login", json={}).status_code == 401


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (GatedRepo("gated"), 403),
        (TokenRejected("bad token"), 403),
        (SourceUnavailable("upstream down"), 503),
    ],
)
def test_hub_errors_in_modelscope_shape(hub: FakeHub, error: Exception, status: int) -> None:
    hub.errors["org/model"] = error  # type: ignore[assignment]
    client = TestClient(Starlette(routes=routes(hub, ids=IDS)))
    resp = client.get("/api/v1/models/org/model/repo/files")
    assert resp.status_code == status
    assert resp.json()["Success"] is False and resp.json()["Data"] is None


class ListGate:
    """Admits the ids in ``allowed``; records what it was asked."""

    def __init__(self, *allowed: str) -> None:
        self.allowed = set(allowed)
        self.asked: list[tuple[str, str | None]] = []

    async def admit(self, repo: RepoRef, token: str | None) -> bool:
        self.asked.append((repo.repo_id, token))
        return repo.repo_id in self.allowed


def test_a_gate_is_asked_before_any_listing(hub: FakeHub) -> None:
    gate = ListGate("meta-llama/Llama-Sim")
    client = TestClient(Starlette(routes=routes(hub, gate=gate, ids=IDS)))
    refused = client.get(
        "/api/v1/models/org/model/repo/files", headers={"Authorization": "Bearer t"}
    )
    assert refused.status_code == 403 and "is gated" in refused.json()["Message"]
    assert gate.asked == [("org/model", "t")] and hub.asked == []
    ok = client.get("/api/v1/models/LLM-Research/Llama-Sim/repo?FilePath=config.json")
    assert ok.status_code == 200 and ok.content == CONFIG
    assert hub.asked == [RepoRef("meta-llama/Llama-Sim")]


def test_a_failed_fill_cuts_the_response_short(hub: FakeHub) -> None:
    hub.fail_after["model.safetensors"] = 100_000
    client = TestClient(Starlette(routes=routes(hub, ids=IDS)), raise_server_exceptions=False)
    url = "/api/v1/models/org/model/repo?FilePath=model.safetensors"
    try:
        resp = client.get(url)
    except Exception:  # the transport noticing the cut is as good as a short body
        return
    assert resp.content != WEIGHTS


def test_byte_range_parsing() -> None:
    assert byte_range(None, 10) is None
    assert byte_range("bytes=2-", 10) == (2, 10)
    assert byte_range("bytes=2-100", 10) == (2, 10)
    assert byte_range("bytes=-3", 10) == (7, 10)
    assert byte_range("bytes=-30", 10) == (0, 10)
    assert byte_range("bytes=5-2", 10) is None
    assert byte_range("items=0-1", 10) is None
    assert byte_range("bytes=99999999999999999999999-", 10) is None  # absurd: ignored
    for absurd in ("bytes=10-", "bytes=-0"):
        with pytest.raises(MSError) as caught:
            byte_range(absurd, 10)
        assert caught.value.status == 416


class CountingStats:
    def __init__(self) -> None:
        self.served_bytes: list[tuple[str, int, bool]] = []

    def served(self, repo: str, nbytes: int, *, hit: bool) -> None:
        self.served_bytes.append((repo, nbytes, hit))


class HoldingBudget:
    def __init__(self) -> None:
        self.held: list[str] = []

    @contextmanager
    def in_use(self, blob: Path) -> Iterator[None]:
        self.held.append(blob.name)
        yield


class BlobStore:
    def blob(self, repo: RepoRef, f: RemoteFile) -> Path:
        return Path("/store") / repo.repo_id / "blobs" / f.etag


def test_served_bytes_are_counted_and_held_like_the_hf_fronts(hub: FakeHub) -> None:
    stats, budget = CountingStats(), HoldingBudget()
    hub.stats, hub.budget, hub.store = stats, budget, BlobStore()  # type: ignore[attr-defined]
    client = TestClient(Starlette(routes=routes(hub, ids=IDS)))
    url = "/api/v1/models/org/model/repo?FilePath=model.safetensors"
    assert client.get(url, headers={"Range": "bytes=0-99"}).content == WEIGHTS[:100]
    assert stats.served_bytes == [("org/model", 100, False)]
    assert budget.held == [hashlib.sha256(WEIGHTS).hexdigest()]
