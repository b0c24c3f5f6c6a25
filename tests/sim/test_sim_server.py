"""The HTTP core: Range semantics, HEAD, keep-alive, the wall, the request log, bad input."""

from __future__ import annotations

import http.client
import socket

import httpx
import pytest

from kuaidi.errors import KuaidiError
from kuaidi.sim import Sim
from kuaidi.sim.cdn import signed_url
from kuaidi.sim.server import Host, Response, json_response

from .sim_raw_client import raw_get

TINY = "kuaidi-sim/tiny-model"


@pytest.fixture
def cdn(sim_factory):
    sim = sim_factory(hosts=["hf-cdn", "hf-mirror"])
    f = sim.catalog.get("model", TINY).head.files["model.safetensors"]
    return sim, f, signed_url(sim.hosts["hf-cdn"], f.sha256, f.path)


def test_range_semantics(cdn):
    _, f, url = cdn
    data = f.blob_path.read_bytes()
    full = raw_get(url)
    assert full.status == 200 and full.body == data and full.headers["accept-ranges"] == "bytes"
    part = raw_get(url, {"Range": "bytes=10-19"})
    assert part.status == 206 and part.body == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{f.size}"
    tail = raw_get(url, {"Range": "bytes=-16"})
    assert tail.status == 206 and tail.body == data[-16:]
    open_end = raw_get(url, {"Range": f"bytes={f.size - 5}-"})
    assert open_end.body == data[-5:]
    past = raw_get(url, {"Range": f"bytes={f.size}-"})
    assert past.status == 416 and past.headers["content-range"] == f"bytes */{f.size}"
    multi = raw_get(url, {"Range": "bytes=0-1,5-6"})
    assert multi.status == 200 and multi.body == data


def test_head_has_length_and_no_body(cdn):
    _, f, url = cdn
    head = raw_get(url, method="HEAD")
    assert head.status == 200 and head.headers["content-length"] == str(f.size)
    assert head.body == b""


def test_keep_alive_serves_several_requests_on_one_connection(cdn):
    sim, _, _ = cdn
    conn = http.client.HTTPConnection("127.0.0.1", sim.hosts["hf-mirror"].port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", f"/api/models/{TINY}")
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read()
    finally:
        conn.close()


def test_connections_are_served_with_nagle_off(cdn, monkeypatch):
    """Regression: without TCP_NODELAY every request after the first on a kept-alive
    connection waited ~40 ms for the client's delayed ACK (headers and body are two writes),
    an artefact no real hub or CDN has — it skewed every benchmark that reuses connections."""
    from kuaidi.sim import server

    seen: list[int] = []
    setup = server._Handler.setup

    def recording_setup(self):  # type: ignore[no-untyped-def]
        setup(self)
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(server._Handler, "setup", recording_setup)
    sim, _, _ = cdn
    conn = http.client.HTTPConnection("127.0.0.1", sim.hosts["hf-mirror"].port, timeout=5)
    try:
        conn.request("GET", f"/api/models/{TINY}")
        assert conn.getresponse().read()
    finally:
        conn.close()
    assert seen and all(seen)


def test_log_redacts_tokens_but_can_answer_saw_token(cdn):
    sim, _, _ = cdn
    token = "hf_secret_value_123"
    raw_get(sim.url("hf-mirror") + f"/api/models/{TINY}", {"Authorization": f"Bearer {token}"})
    raw_get(sim.url("hf-mirror") + "/x", {"Cookie": f"a=1; m_session_id={token}"})
    log = sim.log("hf-mirror")
    assert token not in log.dump() and all(token not in str(e) for e in log)
    assert log.requests(f"/api/models/{TINY}")[0].header("authorization").startswith("fp:")
    assert log.saw_token(token)
    assert not log.saw_token("hf_other")
    assert not sim.log("hf-cdn").saw_token(token)
    assert log.bytes_sent(f"/api/models/{TINY}") > 0


def test_wall_refuses_direct_connections(sim_factory):
    sim = sim_factory("wall", hosts=["origin"])
    with pytest.raises(ConnectionError):  # reset, or a disconnect seen as one
        conn = http.client.HTTPConnection("127.0.0.1", sim.hosts["origin"].port, timeout=5)
        conn.request("GET", f"/api/models/{TINY}")
        conn.getresponse()
    entries = sim.log("origin").entries
    assert entries and all(e.outcome == "refused" for e in entries)
    # the proxy egress address gets through
    with socket.create_connection(
        ("127.0.0.1", sim.hosts["origin"].port), source_address=("127.0.0.9", 0), timeout=5
    ) as s:
        s.sendall(
            f"GET /api/models/{TINY} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        assert s.recv(12).startswith(b"HTTP/1.1 200")


def test_port_in_use_names_the_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        host = Host("x", app=lambda req: Response(200))
        with pytest.raises(KuaidiError, match=f"port {port} is already in use"):
            host.start(port)


def test_unknown_profile_and_host_are_clear_errors(tmp_path):
    with pytest.raises(KuaidiError, match="unknown sim profile 'cnlink'") as info:
        Sim("cnlink", cache_dir=tmp_path)
    assert "cn-link" in str(info.value)
    with pytest.raises(KuaidiError, match="unknown sim host"):
        Sim("clean", cache_dir=tmp_path, faults={"nope": []})
    with pytest.raises(KuaidiError, match="unknown host setting"):
        Sim("clean", cache_dir=tmp_path, overrides={"hf-mirror": {"speed": 1}})


def test_a_new_host_and_a_plain_app(sim_factory):
    sim = sim_factory(hosts=["hf-mirror"], overrides={"lan": {"protocol": "hf", "options": {}}})
    assert "lan" not in sim.hosts  # hosts= limits what starts
    sim2 = sim_factory(overrides={"lan-mirror": {"protocol": "hf"}})
    assert raw_get(sim2.url("lan-mirror") + f"/api/models/{TINY}").status == 200

    host = Host("hello", app=lambda req: json_response({"q": req.arg("name"), "p": req.path}))
    host.start()
    try:
        got = raw_get(host.base_url + "/a%20b?name=x")
        assert got.status == 200 and b'"q":"x"' in got.body and b'"p":"/a b"' in got.body
    finally:
        host.stop()


def test_app_exception_becomes_500_and_is_logged():
    def boom(req):
        raise RuntimeError("kaput")

    host = Host("boom", app=boom)
    host.start()
    try:
        got = raw_get(host.base_url + "/")
        assert got.status == 500 and b"kaput" in got.body
        assert host.log.entries[0].status == 500
    finally:
        host.stop()


def test_env_points_tools_at_the_sim(sim):
    env = sim.env()
    assert env["HF_ENDPOINT"] == sim.url("hf-mirror")
    assert env["HF_HUB_DISABLE_XET"] == "1"
    if "modelscope" in sim.hosts:
        assert env["MODELSCOPE_ENDPOINT"] == sim.url("modelscope")
    if "pypi-tuna" in sim.hosts:
        assert env["PIP_INDEX_URL"].startswith(sim.url("pypi-tuna"))


def test_the_log_is_settled_when_the_client_has_its_response(sim_factory):
    """Reading the log waits for requests still being answered, so no test has to poll."""
    sim = sim_factory(hosts=["hf-mirror"])
    url = sim.url("hf-mirror") + f"/api/models/{TINY}"
    for n in range(1, 21):
        assert raw_get(url).status == 200
        assert len(sim.log("hf-mirror")) == n


def test_a_stalled_request_does_not_hold_log_readers(sim_factory):
    import threading

    from kuaidi.sim.faults import stall

    sim = sim_factory(hosts=["hf-cdn"], faults={"hf-cdn": [stall(after=100, seconds=30)]})
    sim.hosts["hf-cdn"].log.settle = 60.0  # a reader would hang if stalls counted as busy
    f = sim.catalog.get("model", TINY).head.files["model.safetensors"]
    url = signed_url(sim.hosts["hf-cdn"], f.sha256, f.path)
    target = url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    conn = socket.create_connection(("127.0.0.1", sim.hosts["hf-cdn"].port), timeout=5)
    try:
        conn.sendall(f"GET /{target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = b""
        while not received.endswith(b"\r\n\r\n") and len(received.partition(b"\r\n\r\n")[2]) < 100:
            received += conn.recv(4096)
        seen: list[int] = []
        reader = threading.Thread(target=lambda: seen.append(len(sim.log("hf-cdn"))))
        reader.start()
        reader.join(timeout=20)
        assert not reader.is_alive() and seen == [0]  # answered although a request is stalled
    finally:
        conn.close()


@pytest.mark.parametrize("profile", ["clean", "cn-link", "flaky", "wall"])
def test_every_profile_serves_the_mirror(sim_factory, profile):
    sim = sim_factory(profile, hosts=["hf-mirror", "hf-cdn"], faults={"hf-mirror": []})
    sim.hosts["hf-mirror"].faults.clear()  # flaky's seeded 429s are not under test here
    got = raw_get(sim.url("hf-mirror") + f"/api/models/{TINY}")
    assert got.status == 200 and got.ending == "complete"


def test_a_host_counts_the_tcp_connections_it_accepts():
    # What the engine's connection reuse is measured by (tests/transfer, make bench).
    host = Host("counted", app=lambda req: Response(200, body=b"ok"))
    host.start()
    try:
        with httpx.Client() as client:
            for _ in range(3):
                assert client.get(host.base_url + "/a").content == b"ok"
        assert httpx.get(host.base_url + "/b").content == b"ok"
        assert host.connections_accepted == 2
    finally:
        host.stop()
