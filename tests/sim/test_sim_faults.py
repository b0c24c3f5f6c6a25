"""Each fault kind happens exactly as configured (bytes on the wire, statuses), seeded."""

from __future__ import annotations

import hashlib
import random
import threading

import pytest

from kuaidi.sim.cdn import signed_url
from kuaidi.sim.faults import (
    Faults,
    TokenBucket,
    corrupt,
    expire,
    ignore_range,
    latency,
    reset,
    stall,
    status,
    truncate,
)

from .sim_raw_client import raw_get

TINY = "kuaidi-sim/tiny-model"


def _cdn_file(sim, path="model.safetensors", cdn="hf-cdn"):
    f = sim.catalog.get("model", TINY).head.files[path]
    return f, signed_url(sim.hosts[cdn], f.sha256, f.path)


def test_stall_after_n_bytes_then_times_out_and_retry_succeeds(sim_factory):
    sim = sim_factory(
        hosts=["hf-cdn"],
        faults={"hf-cdn": [stall(after="4KiB", path="model.safetensors", times=1)]},
    )
    f, url = _cdn_file(sim)
    stalled = raw_get(url, timeout=0.5)
    assert stalled.status == 200 and stalled.ending == "timeout"
    assert len(stalled.body) == 4096
    again = raw_get(url)
    assert again.ending == "complete" and hashlib.sha256(again.body).hexdigest() == f.sha256
    assert sim.hosts["hf-cdn"].faults.fired_count("stall") == 1


def test_stall_with_seconds_resumes_the_same_response(sim_factory):
    sim = sim_factory(hosts=["hf-cdn"], faults={"hf-cdn": [stall(after=1000, seconds=0.2)]})
    f, url = _cdn_file(sim)
    got = raw_get(url, timeout=5)
    assert got.ending == "complete" and hashlib.sha256(got.body).hexdigest() == f.sha256
    assert sim.log("hf-cdn").requests(fault="stall")


def test_reset_after_n_bytes(sim_factory):
    sim = sim_factory(hosts=["hf-cdn"], faults={"hf-cdn": [reset(after=5000)]})
    _, url = _cdn_file(sim)
    got = raw_get(url)
    assert got.status == 200 and got.ending == "reset"
    assert len(got.body) <= 5000
    entry = sim.log("hf-cdn").requests("/blobs/*")[-1]
    assert entry.outcome == "reset" and entry.bytes_sent == 5000


def test_truncated_body_promises_more(sim_factory):
    sim = sim_factory(hosts=["hf-cdn"], faults={"hf-cdn": [truncate(after=3000)]})
    f, url = _cdn_file(sim)
    got = raw_get(url)
    assert got.ending == "eof"
    assert int(got.headers["content-length"]) == f.size
    assert len(got.body) == 3000


def test_corrupt_byte_at_file_offset_also_inside_ranges(sim_factory):
    sim = sim_factory(hosts=["hf-cdn"], faults={"hf-cdn": [corrupt(offset=40000)]})
    f, url = _cdn_file(sim)
    good = f.blob_path.read_bytes()
    got = raw_get(url)
    assert got.ending == "complete" and len(got.body) == f.size
    diff = [i for i in range(f.size) if got.body[i] != good[i]]
    assert diff == [40000] and got.body[40000] == good[40000] ^ 0xFF
    part = raw_get(url, {"Range": "bytes=39990-40009"})
    assert part.status == 206 and part.body[10] == good[40000] ^ 0xFF
    assert part.body[:10] == good[39990:40000]
    clean = raw_get(url, {"Range": "bytes=0-999"})
    assert clean.body == good[:1000]  # range not covering the offset is untouched


def test_status_429_has_retry_after_and_fires_times(sim_factory):
    sim = sim_factory(
        hosts=["hf-mirror"], faults={"hf-mirror": [status(429, retry_after=7, times=2)]}
    )
    url = sim.url("hf-mirror") + f"/api/models/{TINY}"
    first, second, third = (raw_get(url) for _ in range(3))
    assert first.status == second.status == 429
    assert first.headers["retry-after"] == "7"
    assert third.status == 200


def test_5xx_rate_is_seeded_and_deterministic(sim_factory):
    def pattern(seed):
        sim = sim_factory(
            hosts=["hf-mirror"], seed=seed, faults={"hf-mirror": [status(503, rate=0.5)]}
        )
        base = sim.url("hf-mirror") + f"/api/models/{TINY}"
        return [raw_get(base).status for _ in range(24)]

    one, two, other = pattern(1), pattern(1), pattern(2)
    assert one == two
    assert set(one) == {200, 503}
    assert one != other


def test_decide_is_order_independent_under_threads():
    keys = [("GET", f"/f{i}", f"bytes={j}-") for i in range(5) for j in range(4)] * 3

    def run(order):
        faults = Faults([status(500, rate=0.5)], seed=3, host="h")
        fates: dict[tuple, list[bool]] = {}
        lock = threading.Lock()

        def worker(chunk):
            for method, path, rng in chunk:
                fired = bool(faults.decide(frozenset({"status"}), method, path, rng))
                with lock:
                    fates.setdefault((method, path, rng), []).append(fired)

        threads = [threading.Thread(target=worker, args=(order[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # per key, the multiset of fates is fixed (the n-th occurrence decides)
        return {k: sorted(v) for k, v in fates.items()}

    shuffled = keys[:]
    random.Random(0).shuffle(shuffled)
    assert run(keys) == run(shuffled)


@pytest.mark.parametrize("mode", ["ignore", "200-with-content-range"])
def test_range_ignored(sim_factory, mode):
    sim = sim_factory(hosts=["hf-cdn"], faults={"hf-cdn": [ignore_range(mode=mode)]})
    f, url = _cdn_file(sim)
    got = raw_get(url, {"Range": "bytes=100-199"})
    assert got.status == 200
    if mode == "ignore":
        assert len(got.body) == f.size and "content-range" not in got.headers
    else:
        assert got.body == f.blob_path.read_bytes()[100:200]
        assert got.headers["content-range"] == f"bytes 100-199/{f.size}"


def test_expired_signed_urls_and_tampering(sim_factory):
    sim = sim_factory(hosts=["hf-cdn"], faults={"hf-cdn": [expire(times=1)]})
    _, url = _cdn_file(sim)
    first = raw_get(url)
    assert first.status == 403 and b"Request has expired" in first.body
    assert raw_get(url).status == 200
    assert raw_get(url.replace("Signature=", "Signature=0")).status == 403
    born_expired = sim_factory(hosts=["hf-cdn"], overrides={"hf-cdn": {"options": {"url_ttl": -1}}})
    _, url = _cdn_file(born_expired)
    assert b"Request has expired" in raw_get(url).body


def test_latency_rule_is_recorded(sim_factory):
    sim = sim_factory(hosts=["hf-mirror"], faults={"hf-mirror": [latency(0.01, path="/api/*")]})
    assert raw_get(sim.url("hf-mirror") + f"/api/models/{TINY}").status == 200
    assert sim.log("hf-mirror").requests(fault="latency")


def test_token_bucket_accounting_with_a_fake_clock():
    now = [0.0]
    slept: list[float] = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(1000, burst=500, clock=lambda: now[0], sleep=sleep)
    assert bucket.take(500) == 0  # the burst is free
    assert bucket.take(1000) == pytest.approx(1.0)  # then the rate rules
    now[0] += 2.0  # idle time refills only up to the burst
    assert bucket.take(500) == 0
    assert bucket.take(250) == pytest.approx(0.25)
    assert bucket.granted == 2250 and bucket.waited == pytest.approx(sum(slept))


def test_throttled_host_sends_every_byte_through_the_buckets(sim_factory):
    sim = sim_factory(
        hosts=["hf-cdn"], overrides={"hf-cdn": {"conn_rate": 64 * 1024 * 1024, "total_rate": 1e9}}
    )
    f, url = _cdn_file(sim)
    got = raw_get(url)
    assert hashlib.sha256(got.body).hexdigest() == f.sha256
    assert sim.hosts["hf-cdn"].total_bucket.granted == f.size


def test_rules_at_the_same_byte_compose(sim_factory):
    sim = sim_factory(
        hosts=["hf-cdn"], faults={"hf-cdn": [corrupt(offset=1000), reset(after=1000)]}
    )
    f, url = _cdn_file(sim)
    got = raw_get(url)
    good = f.blob_path.read_bytes()
    assert got.ending == "reset"
    assert got.body[:1000] == good[:1000]
    if len(got.body) > 1000:  # the flipped byte may or may not beat the RST to the client
        assert got.body[1000] == good[1000] ^ 0xFF
    entry = sim.log("hf-cdn").requests("/blobs/*")[-1]
    assert entry.bytes_sent == 1001 and set(entry.faults) == {"corrupt", "reset"}
