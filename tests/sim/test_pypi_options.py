"""The simulated PyPI mirror on the wire: PEP 503/691 pages, negotiation, Range, host options."""

from __future__ import annotations

import base64
import hashlib
import io
import time
import zipfile

import httpx
import pytest

from kuaidi.sim import Sim
from kuaidi.sim.pypi_simple import HTML_V1, JSON_V1, negotiate
from kuaidi.sim.wheels import build_wheel, demo_index, normalize

HOSTS = ["pypi-tuna", "pypi-ustc", "pypi-stale", "pypi-portal"]
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    with Sim("clean", cache_dir=tmp_path_factory.mktemp("content"), hosts=HOSTS) as running:
        yield running


@pytest.fixture
def client():
    with httpx.Client(timeout=10, trust_env=False) as c:
        yield c


# --- negotiation and pages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("*/*", "text/html"),
        (PIP_ACCEPT, JSON_V1),
        ("application/vnd.pypi.simple.v1+html", HTML_V1),
        ("text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.4", "text/html"),
        ("application/vnd.pypi.simple.latest+json", None),
        ("application/json", None),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


def test_project_page_json_matches_the_wheels(sim: Sim, client: httpx.Client) -> None:
    url = sim.url("pypi-tuna") + "/simple/kdemo-lib/"
    resp = client.get(url, headers={"Accept": PIP_ACCEPT})
    assert resp.status_code == 200 and resp.headers["content-type"] == JSON_V1
    doc = resp.json()
    wheels = demo_index(sim.seed).project("kdemo-lib")
    assert doc["meta"]["api-version"] == "1.1" and doc["name"] == "kdemo-lib"
    assert doc["versions"] == ["0.9.0", "1.0.0", "1.1.0", "1.2.0"]
    assert [(f["filename"], f["hashes"]["sha256"], f["size"]) for f in doc["files"]] == [
        (w.filename, w.sha256, w.size) for w in wheels
    ]
    for entry, wheel in zip(doc["files"], wheels, strict=True):
        file = client.get(httpx.URL(url).join(entry["url"]))
        assert file.status_code == 200 and file.content == wheel.data
        meta = client.get(httpx.URL(url).join(entry["url"] + ".metadata"))
        assert hashlib.sha256(meta.content).hexdigest() == entry["core-metadata"]["sha256"]


def test_project_page_html_has_hash_fragments(sim: Sim, client: httpx.Client) -> None:
    resp = client.get(sim.url("pypi-tuna") + "/simple/kdemo-app/")
    assert resp.headers["content-type"].startswith("text/html")
    text = resp.text
    assert '<meta name="pypi:repository-version" content="1.1">' in text
    for wheel in demo_index(sim.seed).project("kdemo-app"):
        assert f"{wheel.filename}#sha256={wheel.sha256}" in text
        assert f'data-core-metadata="sha256={wheel.metadata_sha256}"' in text
    assert 'data-requires-python="&gt;=3.8"' in text


def test_root_index_and_redirects(sim: Sim, client: httpx.Client) -> None:
    base = sim.url("pypi-tuna")
    root = client.get(base + "/simple/", headers={"Accept": JSON_V1}).json()
    assert [p["name"] for p in root["projects"]] == ["kdemo-app", "kdemo-blob", "kdemo-lib"]
    assert '<a href="kdemo-lib/">kdemo-lib</a>' in client.get(base + "/simple/").text
    assert client.get(base + "/simple").headers["location"] == "/simple/"
    moved = client.get(base + "/simple/Kdemo_Lib")
    assert moved.status_code == 301 and moved.headers["location"] == "/simple/kdemo-lib/"
    assert client.get(base + "/simple/no-such-project/").status_code == 404
    unacceptable = client.get(base + "/simple/kdemo-lib/", headers={"Accept": "application/json"})
    assert unacceptable.status_code == 406
    fmt = client.get(base + "/simple/kdemo-lib/", params={"format": JSON_V1})
    assert fmt.headers["content-type"] == JSON_V1


def test_files_honour_range(sim: Sim, client: httpx.Client) -> None:
    blob = demo_index(sim.seed).project("kdemo-blob")[0]
    url = f"{sim.url('pypi-tuna')}/{blob.url_path}"
    part = client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{blob.size}"
    assert part.content == blob.data[1000:2000]
    tail = client.get(url, headers={"Range": "bytes=-22"})
    assert tail.content == blob.data[-22:]
    past = client.get(url, headers={"Range": f"bytes={blob.size}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{blob.size}"
    assert client.head(url).headers["content-length"] == str(blob.size)


# --- host options -------------------------------------------------------------------------------


def test_stale_versions_hides_the_newest(sim: Sim, client: httpx.Client) -> None:
    base = sim.url("pypi-stale") + "/pypi/web/simple"
    doc = client.get(base + "/kdemo-lib/", headers={"Accept": JSON_V1}).json()
    assert doc["versions"] == ["0.9.0", "1.0.0", "1.1.0"]
    html = client.get(base + "/kdemo-app/").text
    assert "kdemo_app-0.2.0" in html and "kdemo_app-1.0.0" not in html
    newest = demo_index(sim.seed).project("kdemo-lib")[-1]
    # The mirror does not have the file either; the older ones it serves under /pypi/web/.
    assert client.get(f"{sim.url('pypi-stale')}/pypi/web/{newest.url_path}").status_code == 404
    older = demo_index(sim.seed).project("kdemo-lib")[0]
    assert client.get(f"{sim.url('pypi-stale')}/pypi/web/{older.url_path}").content == older.data


def test_redirect_files_to_302s_to_the_other_mirror(sim: Sim, client: httpx.Client) -> None:
    wheel = demo_index(sim.seed).project("kdemo-app")[0]
    resp = client.get(f"{sim.url('pypi-ustc')}/{wheel.url_path}")
    assert resp.status_code == 302
    assert resp.headers["location"] == f"{sim.url('pypi-tuna')}/{wheel.url_path}"
    # Index pages are served by the redirecting mirror itself.
    assert client.get(sim.url("pypi-ustc") + "/simple/kdemo-app/").status_code == 200
    followed = client.get(f"{sim.url('pypi-ustc')}/{wheel.url_path}", follow_redirects=True)
    assert followed.content == wheel.data


def test_answer_html_garbage_is_a_captive_portal(sim: Sim, client: httpx.Client) -> None:
    base = sim.url("pypi-portal")
    wheel = demo_index(sim.seed).project("kdemo-lib")[0]
    bodies = set()
    for path in ("/simple/", "/simple/kdemo-lib/", f"/{wheel.url_path}", "/anything"):
        resp = client.get(base + path, headers={"Accept": PIP_ACCEPT})
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
        bodies.add(resp.content)
    assert len(bodies) == 1 and "校园网" in bodies.pop().decode()


def test_status_json_is_tunasync_shaped(sim: Sim, client: httpx.Client) -> None:
    fresh = client.get(sim.url("pypi-tuna") + "/static/tunasync.json").json()
    stale = client.get(sim.url("pypi-stale") + "/static/tunasync.json").json()
    now = time.time()
    [tuna], [lagging] = fresh, stale
    assert tuna["name"] == "pypi" and tuna["status"] == "success"
    assert abs(now - 300 - tuna["last_update_ts"]) < 60
    assert lagging["status"] == "failed"
    assert abs(now - 3 * 86400 - lagging["last_update_ts"]) < 60
    assert lagging["last_ended_ts"] > lagging["last_update_ts"]  # the failed attempt is recent
    for key in ("last_update", "last_started_ts", "next_schedule_ts", "upstream", "is_master"):
        assert key in tuna
    assert client.get(sim.url("pypi-ustc") + "/static/tunasync.json").status_code == 404


def test_status_json_option_override(tmp_path) -> None:
    overrides = {
        "pypi-aliyun": {"options": {"status_json": {"synced_ago": 10, "status": "syncing"}}}
    }
    with (
        Sim("clean", cache_dir=tmp_path, hosts=["pypi-aliyun"], overrides=overrides) as sim,
        httpx.Client(trust_env=False) as client,
    ):
        [entry] = client.get(sim.url("pypi-aliyun") + "/static/tunasync.json").json()
        assert entry["status"] == "syncing"


# --- wheels -------------------------------------------------------------------------------------


def test_wheels_are_deterministic_and_self_consistent() -> None:
    first, again, other = demo_index(3), demo_index(3, blob_size=1 << 20), demo_index(4)
    lib3 = [w.sha256 for w in first.project("kdemo-lib")]
    assert lib3 == [w.sha256 for w in again.project("kdemo-lib")]
    assert lib3 != [w.sha256 for w in other.project("kdemo-lib")]
    rebuilt = build_wheel("Kdemo.Lib", "1.0", files={"kdemo_lib/__init__.py": b"x = 1\n"})
    assert (
        rebuilt.data
        == build_wheel("kdemo-lib", "1.0", files={"kdemo_lib/__init__.py": b"x = 1\n"}).data
    )
    for name in first.names():
        for wheel in first.project(name):
            _assert_valid_wheel(wheel.data, wheel.metadata, normalize(name), wheel.version)
    blob = first.project("kdemo-blob")[0]
    assert 2 * 1024 * 1024 <= blob.size < 2 * 1024 * 1024 + 8192


def _assert_valid_wheel(data: bytes, metadata: bytes, name: str, version: str) -> None:
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.read(f"{dist_info}/METADATA") == metadata
        assert b"Tag: py3-none-any" in archive.read(f"{dist_info}/WHEEL")
        record = archive.read(f"{dist_info}/RECORD").decode().splitlines()
        listed = {}
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            listed[path] = (digest, size)
        assert set(listed) == set(archive.namelist())
        for path, (digest, size) in listed.items():
            if path.endswith("RECORD"):
                assert (digest, size) == ("", "")
                continue
            content = archive.read(path)
            want = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
            assert digest == "sha256=" + want.decode() and int(size) == len(content)
    meta = metadata.decode()
    assert f"Name: {name}\n" in meta and f"Version: {version}\n" in meta
    assert "Requires-Python: >=3.8\n" in meta
