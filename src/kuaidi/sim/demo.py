"""The demo behind ``kuaidi demo``: the cn-link sim with a stall and a reset, a real client
downloading a small model through it, an offline load, and a verified summary.

The download is ONE call, :func:`download`, so it can be switched to kuaidi's own ``get``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kuaidi.sim import Sim
from kuaidi.sim.faults import FaultRule, reset, stall
from kuaidi.sim.sizes import format_size

DEMO_REPO = "kuaidi-sim/demo-model"
INSTALL_HINT = "pip install huggingface_hub   (or: pip install 'kuaidi[hf]')"


def demo_faults() -> dict[str, list[FaultRule]]:
    """One stall (the client must time out) then one RST, both on the weights, once each."""
    return {
        "hf-cdn": [
            stall(after="1MiB", path="model.safetensors", times=1),
            reset(after="2MiB", path="model.safetensors", times=1),
        ]
    }


def prepare_client_env() -> None:
    """huggingface_hub reads its settings at import: plain HTTP (no Xet), a short read timeout
    so the stall costs seconds not minutes, and loopback never through a user's proxy."""
    if "huggingface_hub" in sys.modules:
        return
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    os.environ["HF_HUB_DOWNLOAD_TIMEOUT"] = "3"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for key in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(key, "")
        os.environ[key] = ",".join(x for x in (current, "127.0.0.1", "localhost") if x)


def download(sim: Sim, repo_id: str, cache_dir: Path) -> Path:
    """Fetch ``repo_id`` from the sim's mirror into the HF cache at ``cache_dir``; return the
    snapshot directory. (The one step to swap for kuaidi's own downloader.)"""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, endpoint=sim.url("hf-mirror"), cache_dir=cache_dir))


def load_offline(repo_id: str, cache_dir: Path) -> str:
    """Open the model from the cache with the network off; describe what was loaded."""
    from huggingface_hub import snapshot_download

    snap = Path(snapshot_download(repo_id, cache_dir=cache_dir, local_files_only=True))
    config = json.loads((snap / "config.json").read_text())
    raw = (snap / "model.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    tensors = ", ".join(
        f"{k} {v['dtype']}{v['shape']}" for k, v in header.items() if k != "__metadata__"
    )
    return f"config.json ({len(config)} keys), model.safetensors: {tensors}"


@dataclass
class DemoReport:
    repo_id: str
    commit: str
    files: int = 0
    size: int = 0
    seconds: float = 0.0
    verified: int = 0
    mismatched: list[str] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    loaded: str = ""
    faults: dict[str, int] = field(default_factory=dict)
    cdn_bytes: int = 0
    ok: bool = False


def run_demo(
    workdir: Path,
    *,
    say: Callable[[str], None] = print,
    sim_cache: Path | None = None,
    max_attempts: int = 3,
) -> DemoReport:
    """Run the whole demo in ``workdir`` (the HF cache goes to ``workdir/hub``)."""
    prepare_client_env()
    cache = workdir / "hub"
    with Sim("cn-link", faults=demo_faults(), cache_dir=sim_cache) as sim:
        repo = sim.catalog.get("model", DEMO_REPO)
        assert repo is not None
        report = DemoReport(DEMO_REPO, repo.head.sha)
        cdn = sim.hosts["hf-cdn"]
        say(
            f"sim up: profile cn-link, mirror {sim.url('hf-mirror')}, CDN capped at "
            f"{format_size(cdn.conn_rate or 0)}/s per connection; injecting 1 stall + 1 reset"
        )
        import huggingface_hub

        say(f"downloading {DEMO_REPO} with huggingface_hub {huggingface_hub.__version__} …")
        started = time.monotonic()
        snap = None
        for attempt in range(1, max_attempts + 1):
            try:
                snap = download(sim, DEMO_REPO, cache)
            except Exception as exc:  # the real client's own error, reported as-is
                line = f"attempt {attempt} failed: {type(exc).__name__}: {str(exc)[:120]}"
                report.attempts.append(line)
                say("  " + line)
                if type(exc).__name__ == "ReadError":
                    say("  (huggingface_hub retries timeouts, not a reset, and restarts files")
                    say("   under 10 MiB from byte 0; kuaidi get resumes both from its journal)")
                continue
            report.attempts.append(f"attempt {attempt} ok")
            say(f"  attempt {attempt} ok")
            break
        report.seconds = time.monotonic() - started
        report.faults = {
            r.kind: n for r, n in ((r, cdn.faults.fired[i]) for i, r in enumerate(cdn.faults.rules))
        }
        report.cdn_bytes = cdn.bytes_sent
    if snap is None:
        return report
    for path, f in repo.head.files.items():
        data = (snap / path).read_bytes()
        report.files += 1
        report.size += len(data)
        if hashlib.sha256(data).hexdigest() == f.sha256:
            report.verified += 1
        else:
            report.mismatched.append(path)
    report.loaded = load_offline(DEMO_REPO, cache)  # the sim is down now: truly offline
    report.ok = report.verified == report.files
    return report


def client_available() -> bool:
    return importlib.util.find_spec("huggingface_hub") is not None
