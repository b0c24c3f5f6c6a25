"""UpstreamGate against the sim's HF host: who is admitted, what is asked upstream, and where
tokens go."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from kuaidi.errors import GatedRepo, RepoNotFound, SourceUnavailable, TokenRejected
from kuaidi.model.repo import RepoRef
from kuaidi.net.scope import ProxyScope
from kuaidi.serve.gate import UpstreamGate
from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN, SIM_TOKEN_NO_ACCESS
from kuaidi.sim.faults import status

PUBLIC = RepoRef("kuaidi-sim/tiny-model")
GATED = RepoRef("kuaidi-sim/gated-model")
PRIVATE = RepoRef("kuaidi-sim/private-model")
DATASET = RepoRef("kuaidi-sim/tiny-dataset", "dataset")
BAD_TOKEN = "hf_notAtokenTheSimKnows0000000000000"
HOSTS = ["hf-mirror", "hf-cdn"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_gate(sim: Sim, **kwargs: object) -> UpstreamGate:
    return UpstreamGate(sim.url("hf-mirror"), scope=ProxyScope.direct(), **kwargs)  # type: ignore[arg-type]


def check(gate: UpstreamGate, repo: RepoRef, token: str | None) -> object:
    return asyncio.run(gate.check(repo, token))


@pytest.fixture
def sim(sim_factory: Callable[..., Sim]) -> Sim:
    return sim_factory("clean", hosts=HOSTS)


def test_public_repos_admit_everyone(sim: Sim) -> None:
    gate = make_gate(sim)
    for repo in (PUBLIC, DATASET):
        for token in (None, SIM_TOKEN_NO_ACCESS, SIM_TOKEN):
            assert check(gate, repo, token) is None
    # Nothing but the anonymous listing was asked: no token left the server for a public repo.
    log = sim.log("hf-mirror")
    assert len(log.requests("*")) == 2
    assert not log.saw_token(SIM_TOKEN) and not log.saw_token(SIM_TOKEN_NO_ACCESS)


def test_gated_repo_needs_the_clients_own_granted_token(sim: Sim) -> None:
    gate = make_gate(sim, token=SIM_TOKEN)  # the server's token must not lend access
    anonymous = check(gate, GATED, None)
    assert isinstance(anonymous, GatedRepo) and "Please log in" in anonymous.message
    user = check(gate, GATED, SIM_TOKEN_NO_ACCESS)
    assert isinstance(user, GatedRepo) and "not in the authorized list" in user.message
    assert check(gate, GATED, SIM_TOKEN) is None
    assert isinstance(check(gate, GATED, BAD_TOKEN), TokenRejected)
    assert isinstance(check(gate, GATED, "a\x00b"), TokenRejected)
    assert asyncio.run(gate.admit(GATED, None)) is False
    assert asyncio.run(gate.admit(GATED, SIM_TOKEN)) is True


def test_private_repo_looks_absent_without_access(sim: Sim) -> None:
    gate = make_gate(sim)
    assert isinstance(check(gate, PRIVATE, None), RepoNotFound)
    assert isinstance(check(gate, PRIVATE, SIM_TOKEN_NO_ACCESS), RepoNotFound)
    assert check(gate, PRIVATE, SIM_TOKEN) is None
    assert isinstance(check(gate, RepoRef("kuaidi-sim/no-such-repo"), SIM_TOKEN), RepoNotFound)


def test_odd_ids_are_never_asked_about(sim: Sim) -> None:
    gate = make_gate(sim)
    for odd in ("../api/whoami-v2", "a/b/c", "a/../b", "x?y=1", "/abs", "a/b#c"):
        assert isinstance(check(gate, RepoRef(odd), SIM_TOKEN), RepoNotFound), odd
    assert sim.log("hf-mirror").requests("*") == []


def test_share_gated_lends_the_servers_token(sim: Sim) -> None:
    shared = make_gate(sim, token=SIM_TOKEN, share_gated=True)
    assert check(shared, GATED, None) is None
    assert check(shared, GATED, SIM_TOKEN_NO_ACCESS) is None
    assert check(shared, PRIVATE, None) is None
    # share_gated without a server token that has access lends nothing.
    weak = make_gate(sim, token=SIM_TOKEN_NO_ACCESS, share_gated=True)
    assert isinstance(check(weak, GATED, None), GatedRepo)
    none = make_gate(sim, share_gated=True)
    assert isinstance(check(none, GATED, None), GatedRepo)


def test_one_upstream_check_per_token_and_repo_within_the_ttl(sim: Sim) -> None:
    clock = Clock()
    gate = make_gate(sim, clock=clock, ttl=600, negative_ttl=60)
    log = sim.log("hf-mirror")

    def probes() -> int:
        return len(log.requests("*/resolve/*", method="HEAD"))

    for _ in range(3):
        assert check(gate, GATED, SIM_TOKEN) is None
        assert isinstance(check(gate, GATED, SIM_TOKEN_NO_ACCESS), GatedRepo)
    assert probes() == 2 and len(log.requests("/api/models/*")) == 1
    clock.now += 61  # the refusal expires first: a licence accepted since then counts soon
    check(gate, GATED, SIM_TOKEN)
    check(gate, GATED, SIM_TOKEN_NO_ACCESS)
    assert probes() == 3
    clock.now += 600
    check(gate, GATED, SIM_TOKEN)
    assert probes() == 4


def test_concurrent_clients_share_one_check(sim: Sim) -> None:
    gate = make_gate(sim)

    async def many() -> list[bool]:
        return await asyncio.gather(*(gate.admit(GATED, SIM_TOKEN) for _ in range(20)))

    assert asyncio.run(many()) == [True] * 20
    log = sim.log("hf-mirror")
    assert len(log.requests("*/resolve/*", method="HEAD")) == 1
    assert len(log.requests("/api/models/*")) == 1


def test_tokens_go_only_to_the_upstream_and_only_to_ask(sim: Sim) -> None:
    gate = make_gate(sim, token=SIM_TOKEN, share_gated=True)
    for repo in (GATED, PRIVATE, PUBLIC):
        check(gate, repo, None)
        check(gate, repo, SIM_TOKEN_NO_ACCESS)
    # The probe of an LFS file answers 302 to the CDN: never followed, so the CDN saw nothing.
    assert sim.log("hf-cdn").requests("*") == []
    for entry in sim.log("hf-mirror").requests("*"):
        if entry.header("Authorization") is not None:
            assert entry.method == "HEAD" and "/resolve/main/" in entry.path
        else:
            assert entry.path.startswith("/api/")
    assert "hf_" not in repr(gate)


def test_stale_answers_serve_through_an_outage(sim_factory: Callable[..., Sim]) -> None:
    down = [status(503, path="*")]
    sim = sim_factory("clean", hosts=HOSTS)
    clock = Clock()
    gate = make_gate(sim, clock=clock, retries=0)
    assert check(gate, GATED, SIM_TOKEN) is None
    assert check(gate, PUBLIC, None) is None
    faults = sim.host("hf-mirror").faults
    assert faults is not None
    faults.add(*down)
    clock.now += 10_000  # everything expired; the upstream answers 503 only
    assert check(gate, GATED, SIM_TOKEN) is None
    assert check(gate, PUBLIC, None) is None
    never_seen = check_raises(gate, RepoRef("kuaidi-sim/nested-model"))
    assert "retry when the upstream answers" in never_seen.one_line()


def check_raises(gate: UpstreamGate, repo: RepoRef) -> SourceUnavailable:
    with pytest.raises(SourceUnavailable) as caught:
        asyncio.run(gate.check(repo, None))
    return caught.value
