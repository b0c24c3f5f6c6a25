"""Journey: the CDN is failing — kuaidi must not storm it (issue 10 #2, #19).

A CDN answering 503 to every weight GET, and one answering 403 to everything: through the CLI
with ``-n 8 --max-retries 8``, the sim's request log holds at most files × (max-retries + 1)
requests plus the listing, the run ends naming each file, and the retry count it prints is
the number of requests that really went out, less the first.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest

from kuaidi.sim import Sim
from kuaidi.sim import faults as F
from kuaidi.sim.content import Catalog, RepoSpec
from tests.journeys.conftest import base_env, partials, run_kuaidi

REPO = "kuaidi-journey/storm"
SPEC = (
    "config.json:1KB,model-00001-of-00003.safetensors:2MB,"
    "model-00002-of-00003.safetensors:2MB,model-00003-of-00003.safetensors:2MB"
)
RETRIES = 8


@pytest.fixture(scope="module")
def storm_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return Catalog(tmp_path_factory.mktemp("storm"), [RepoSpec(REPO, SPEC, seed=41, revisions=1)])


def _run(catalog: Catalog, tmp_path: Path, rule: F.FaultRule) -> tuple:  # type: ignore[type-arg]
    with Sim(
        "clean", catalog=catalog, hosts=["hf-mirror", "hf-cdn"], faults={"hf-cdn": [rule]}
    ) as sim:
        env = base_env(tmp_path / "home", sim)
        (tmp_path / "home").mkdir()
        t0 = time.monotonic()
        run = run_kuaidi(
            ["get", REPO, "-n", "8", "--max-retries", str(RETRIES), "--modelscope-endpoint", "none",
             "--cache-dir", str(tmp_path / "hub")],
            env,
            timeout=240,
        )  # fmt: skip
        seconds = time.monotonic() - t0
        time.sleep(0.2)
        mirror, cdn = list(sim.log("hf-mirror").entries), list(sim.log("hf-cdn").entries)
        files = sim.catalog.get("model", REPO).head.files
    return run, seconds, mirror, cdn, files


def _check_bound(mirror: list, cdn: list, files: dict) -> tuple[int, Counter]:  # type: ignore[type-arg]
    listing = [e for e in mirror if e.path.startswith("/api/models/")]
    total = len(mirror) + len(cdn)
    bound = len(files) * (RETRIES + 1) + len(listing)
    assert total <= bound, f"{total} requests for {len(files)} files (bound {bound})"
    per_file = Counter(e.path.rsplit("/", 1)[-1] for e in cdn)
    assert all(n <= RETRIES + 1 for n in per_file.values()), per_file
    return total, per_file


def test_a_cdn_answering_503_to_every_weight_get_is_not_stormed(
    storm_catalog: Catalog, tmp_path: Path
) -> None:
    rule = F.status(503, retry_after=1, path="*.safetensors")
    run, seconds, mirror, cdn, files = _run(storm_catalog, tmp_path, rule)
    assert run.rc == 1, run.stderr
    total, per_file = _check_bound(mirror, cdn, files)
    weights = sorted(p for p in files if p.endswith(".safetensors"))
    errors = {
        m.group(1): m.group(0)
        for m in re.finditer(r"kuaidi: error: (\S+\.safetensors): (.*)", run.stderr)
    }
    assert sorted(errors) == weights, run.stderr
    for path in weights:  # the printed retry count is the requests that went out, less one
        retries = int(re.search(r"after (\d+) retr", errors[path]).group(1))  # type: ignore[union-attr]
        assert retries == per_file[path] - 1 == RETRIES, (path, errors[path], per_file)
    # Retry-After: 1 was honoured by every connection: nine rounds a second apart, not a burst.
    assert seconds >= RETRIES * 0.9, seconds
    assert not [p for p in partials(tmp_path / "hub") if p.stat().st_size > 0]
    print(f"503 storm: {total} requests in {seconds:.1f}s, per weight file {dict(per_file)}")


def test_a_cdn_answering_403_to_everything_gives_up_soon(
    storm_catalog: Catalog, tmp_path: Path
) -> None:
    """Regression (#19): a 403 from the CDN was taken for an expired signature and re-resolved
    at once, 138 times in 0.7 s. A URL the resolve has just handed out is not expired."""
    run, seconds, mirror, cdn, files = _run(storm_catalog, tmp_path, F.status(403))
    assert run.rc == 1, run.stderr
    total, per_file = _check_bound(mirror, cdn, files)
    assert all(n <= 3 for n in per_file.values()), per_file
    failed = re.findall(r"kuaidi: error: (\S+): .*403", run.stderr)
    assert sorted(failed) == sorted(p for p in files if p.endswith(".safetensors")), run.stderr
    print(f"403 everywhere: {total} requests in {seconds:.1f}s, per file {dict(per_file)}")
