"""``kuaidi demo``: the cn-link sim with a stall, a reset and a corrupt file on the mirror,
kuaidi's own downloader through it (the route ladder moves the corrupt file to ModelScope),
then an offline load with huggingface_hub — the README's first command."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import tempfile
import time
from pathlib import Path

import click

from kuaidi.get import SourceOptions, download, engine_options
from kuaidi.sim import Sim
from kuaidi.sim.demo import DEMO_REPO, demo_faults
from kuaidi.sim.sizes import format_size
from kuaidi.transfer.progress import make_progress


def _load_offline(snapshot: Path, cache: Path) -> str:
    """Open the model offline: huggingface_hub (and transformers' AutoConfig) when installed."""
    if importlib.util.find_spec("huggingface_hub") is None:
        return f"{snapshot} (install huggingface_hub to load it through the hub's own cache code)"
    from kuaidi.sim.demo import load_offline

    text = "huggingface_hub: " + load_offline(DEMO_REPO, cache)
    if importlib.util.find_spec("transformers") is not None:
        try:
            # optional (checked with find_spec above), so not installed where mypy runs
            from transformers import AutoConfig  # type: ignore[import-not-found]

            config = AutoConfig.from_pretrained(DEMO_REPO, cache_dir=cache, local_files_only=True)
            text += f"; AutoConfig: {type(config).__name__}"
        except Exception as exc:  # the demo model is synthetic; say so rather than fail
            text += f"; AutoConfig could not parse it ({type(exc).__name__})"
    return text


@click.command(name="demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the downloaded HF cache here (default: a temp dir, removed afterwards).",
)
@click.option(
    "--sim-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the sim's generated content lives (default: the user cache).",
)
def command(workdir: Path | None, sim_cache: Path | None) -> int:
    """Start the sim on cn-link (one stall, one reset), kuaidi get a demo model, load it offline."""
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="kuaidi-demo-")) if own else workdir
    assert root is not None
    root.mkdir(parents=True, exist_ok=True)
    cache = root / "hub"
    try:
        with Sim("cn-link", faults=demo_faults(), cache_dir=sim_cache) as sim:
            repo = sim.catalog.get("model", DEMO_REPO)
            assert repo is not None
            cdn = sim.hosts["hf-cdn"]
            click.echo(
                f"sim up: profile cn-link, mirror {sim.url('hf-mirror')}, CDN capped at "
                f"{format_size(cdn.conn_rate or 0)}/s per connection, ModelScope "
                f"{sim.url('modelscope')}; injecting 1 stall + 1 reset on the weights and a "
                "corrupt tokenizer.json on the mirror"
            )
            click.echo(
                f"kuaidi get {DEMO_REPO} --endpoint {sim.url('hf-mirror')} "
                f"--modelscope-endpoint {sim.url('modelscope')} --stall-timeout 3"
            )
            started = time.monotonic()
            result = download(
                DEMO_REPO,
                endpoint=sim.url("hf-mirror"),
                sources=SourceOptions(
                    modelscope_endpoint=sim.url("modelscope"),
                    proxy="none",  # the demo never leaves loopback, whatever the shell exports
                ),
                cache_dir=cache,
                engine=engine_options(stall_timeout=3.0),
                token=False,
                events=make_progress("auto"),
            )
            seconds = time.monotonic() - started
            fired: dict[str, int] = {}
            for host in (cdn, sim.hosts["hf-mirror"]):
                for i, rule in enumerate(host.faults.rules):
                    fired[rule.kind] = fired.get(rule.kind, 0) + host.faults.fired[i]
            mirror = sim.url("hf-mirror").split("://", 1)[1]
            cdn_bytes = cdn.bytes_sent
        # The sim is down from here on: the load below is truly offline.
        snapshot = Path(result.path)
        verified = mismatched = 0
        for path, listed in repo.head.files.items():
            p = snapshot / path
            if p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() == listed.sha256:
                verified += 1
            else:
                mismatched += 1
        ok = result.ok and mismatched == 0
        if ok:
            click.echo(f"loaded offline: {_load_offline(snapshot, cache)}")
        for f in result.failed:
            click.echo(f"FAILED {f.path}: {f.error}")
        for f in result.files:  # the ladder at work: who served what the mirror could not
            others = sorted(name for name in f.sources if name != mirror)
            if others:
                click.echo(f"route ladder: {f.path} served by {', '.join(others)}")
        faults = ", ".join(f"{kind} ×{n}" for kind, n in fired.items() if n) or "none"
        size = sum(f.size for f in repo.head.files.values())
        click.echo(
            f"summary: {len(repo.head.files)} files, {format_size(size)} in {seconds:.1f} s, "
            f"sha256 verified {verified}/{len(repo.head.files)}; faults hit: {faults}; "
            f"{result.retries} retries; CDN sent {format_size(cdn_bytes)} "
            f"({format_size(max(0, cdn_bytes - size))} re-sent after faults)"
        )
        return 0 if ok else 1
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
