"""plan_routes: per-file ladders from listings the sims really serve, plus the weak-match rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.model import Listing, RemoteFile, RepoRef
from kuaidi.net import ProxyScope, make_client
from kuaidi.sim import Sim
from kuaidi.sim.content import SIM_TOKEN
from kuaidi.sources.hf import HFSource
from kuaidi.sources.idmap import candidates
from kuaidi.sources.modelscope import ModelScopeSource
from kuaidi.sources.routeplan import compare, plan_routes, source_kind, to_routes

TINY = RepoRef("kuaidi-sim/tiny-model")


class Sources:
    def __init__(self, sim: Sim, token: str | None = None) -> None:
        client = make_client(ProxyScope.direct())
        self.mirror = HFSource(sim.url("hf-mirror"), client, token, name="hf-mirror")
        self.origin = HFSource(sim.url("origin"), client, token, name="origin")
        self.ms = ModelScopeSource(sim.url("modelscope"), client, token)

    def ms_listing(self, hf_id: str) -> Listing:
        """The first idmap candidate ModelScope has (as the get command will do)."""
        for ms_id in candidates(hf_id, user_file=None):
            try:
                return self.ms.list(RepoRef(ms_id))
            except KuaidiError:
                continue
        raise AssertionError(f"no ModelScope candidate for {hf_id}")


@pytest.fixture
def sim(sim_factory: Callable[..., Sim]) -> Sim:
    overrides = {"hf-mirror": {"options": {"stale": {"kuaidi-sim/demo-model": 1}}}}
    return sim_factory(
        "clean", hosts=["hf-mirror", "hf-cdn", "modelscope", "origin"], overrides=overrides
    )


def test_same_repo_everywhere_mirror_then_modelscope_then_origin(sim: Sim) -> None:
    s = Sources(sim)
    hf = s.mirror.list(TINY)
    plan = plan_routes(hf, [s.origin.list(TINY), s.ms_listing(TINY.repo_id)])  # any input order
    assert plan.mode == "hf" and plan.reference == "hf-mirror" and plan.commit == hf.commit
    assert [f.path for f in plan.files] == [f.path for f in hf.files]
    for f in plan.files:
        assert [r.source for r in f.routes] == ["hf-mirror", "modelscope", "origin"]
        ms = f.routes[1]
        assert ms.match == ("sha256" if f.expected.lfs else "git-sha1")
    text = plan.explain()
    assert "5/5 files match by hash" in text and "model.safetensors" in text


def test_mapped_id_is_used_when_the_hashes_agree(sim: Sim) -> None:
    s = Sources(sim, token=SIM_TOKEN)  # the Llama repos are gated on both sides
    ref = RepoRef("meta-llama/Llama-Sim-1B")
    ms_listing = s.ms_listing(ref.repo_id)
    assert ms_listing.repo.repo_id == "LLM-Research/Llama-Sim-1B"
    plan = plan_routes(s.mirror.list(ref), [ms_listing])
    assert plan.repo == ref  # the store files the bytes under the HF id
    for f in plan.files:
        rung = f.routes[1]
        assert rung.source == "modelscope" and rung.repo.repo_id == "LLM-Research/Llama-Sim-1B"


def test_a_variant_serves_only_byte_identical_files(sim: Sim) -> None:
    s = Sources(sim)
    ref = RepoRef("Qwen/Qwen-Sim-0.5B")
    plan = plan_routes(s.mirror.list(ref), [s.ms_listing(ref.repo_id)])
    weights = plan.file("model.safetensors")
    assert [r.source for r in weights.routes] == ["hf-mirror"]
    assert weights.skipped == (("modelscope", "sha256 differs"),)
    verdict = plan.verdicts[0]
    assert verdict.counts["conflict"] >= 1 and not verdict.weak_allowed
    assert "differ" in verdict.summary
    for f in plan.files:
        if "modelscope" in plan.sources_for(f.path):
            assert compare(f.expected, next(
                x for x in s.ms_listing(ref.repo_id).files if x.path == f.path
            ))[0] in ("sha256", "git-sha1")  # fmt: skip


def test_stale_mirror_is_flagged_and_only_identical_files_used(sim: Sim) -> None:
    s = Sources(sim)
    ref = RepoRef("kuaidi-sim/demo-model")
    fresh, stale = s.origin.list(ref), s.mirror.list(ref)
    assert fresh.commit != stale.commit
    plan = plan_routes(fresh, [stale])
    verdict = next(v for v in plan.verdicts if v.source == "hf-mirror")
    assert "stale" in verdict.summary
    for f in plan.files:
        same = compare(f.expected, next((x for x in stale.files if x.path == f.path), None))[0]
        assert ("hf-mirror" in plan.sources_for(f.path)) == (same in ("sha256", "git-sha1"))
        assert plan.sources_for(f.path)[-1] == "origin"
    # the weights did not change between the commits: the stale mirror still serves them
    assert plan.sources_for("model.safetensors") == ["hf-mirror", "origin"]
    assert plan.sources_for("config.json") == ["origin"]


def test_no_hf_listing_needs_the_opt_in(sim: Sim) -> None:
    s = Sources(sim)
    ms_listing = s.ms_listing(TINY.repo_id)
    blocked = plan_routes(None, [ms_listing])
    assert blocked.mode == "blocked" and not blocked.files
    assert "allow-modelscope-only" in blocked.explain()
    plan = plan_routes(None, [ms_listing], allow_modelscope_only=True)
    assert plan.mode == "modelscope-only" and plan.reference == "modelscope"
    assert all(f.expected.sha256 for f in plan.files)  # verified by ModelScope's own hashes
    # an HF-protocol candidate, even the origin, is preferred as the reference
    plan = plan_routes(None, [ms_listing, s.origin.list(TINY)])
    assert plan.mode == "hf" and plan.reference == "origin"
    assert plan.sources_for("config.json") == ["modelscope", "origin"]


def test_to_routes_builds_transfer_routes(sim: Sim) -> None:
    s = Sources(sim, token=SIM_TOKEN)
    plan = plan_routes(s.mirror.list(TINY), [s.ms_listing(TINY.repo_id)])
    routes = to_routes(plan.file("model.safetensors"), {"hf-mirror": s.mirror, "modelscope": s.ms})
    assert [r.source for r in routes] == ["hf-mirror", "modelscope"]
    assert "/resolve/" in routes[0].url and "FilePath=model.safetensors" in routes[1].url
    for route in routes:
        assert route.headers_for(route.url)  # each token for its own endpoint only
    assert not routes[1].headers_for(routes[0].url)


# -- synthetic listings: the weak (size-only) rule -------------------------------------------------

SHA = "a" * 64
SHA_OTHER = "b" * 64


def _hf(*files: RemoteFile) -> Listing:
    return Listing(RepoRef("o/n"), "c" * 40, list(files), source="hf-mirror")


def _ms(*files: RemoteFile) -> Listing:
    return Listing(RepoRef("O/n"), "d" * 40, list(files), source="modelscope")


WEIGHTS = RemoteFile("model.safetensors", 100, sha256=SHA, lfs=True)
SMALL = RemoteFile("config.json", 10, git_sha1="1" * 40)


def test_weak_match_used_when_the_repo_agrees() -> None:
    ms = _ms(
        RemoteFile("model.safetensors", 100, sha256=SHA, lfs=True),
        RemoteFile("config.json", 10, sha256=SHA_OTHER),  # no git blob id listed
    )
    plan = plan_routes(_hf(WEIGHTS, SMALL), [ms])
    config = plan.file("config.json")
    assert [r.match for r in config.routes] == ["reference", "size"]


def test_weak_match_dropped_when_the_repo_conflicts() -> None:
    ms = _ms(
        RemoteFile("model.safetensors", 100, sha256=SHA_OTHER, lfs=True),
        RemoteFile("config.json", 10, sha256=SHA_OTHER),
    )
    plan = plan_routes(_hf(WEIGHTS, SMALL), [ms])
    assert plan.sources_for("config.json") == ["hf-mirror"]
    assert "does not agree" in plan.file("config.json").skipped[0][1]
    assert "not used" in plan.verdicts[0].summary


@pytest.mark.parametrize(
    ("have", "want"),
    [
        (None, "absent"),
        (RemoteFile("x", 99, sha256=SHA), "conflict"),
        (RemoteFile("x", 100, sha256=SHA), "sha256"),
        (RemoteFile("x", 100, sha256=SHA_OTHER), "conflict"),
        (RemoteFile("x", 100), "size"),
    ],
)
def test_compare(have: RemoteFile | None, want: str) -> None:
    assert compare(RemoteFile("x", 100, sha256=SHA, lfs=True), have)[0] == want


def test_kinds_can_be_named() -> None:
    listing = Listing(RepoRef("o/n"), "c" * 40, [], source="tuna-hf")
    assert source_kind(listing) == "mirror"
    assert source_kind(listing, {"tuna-hf": "origin"}) == "origin"
    assert source_kind(Listing(RepoRef("o/n"), "c", [], source="origin")) == "origin"
