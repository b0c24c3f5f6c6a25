"""``kuaidi probe``: rank mirrors by how a download will really use them; ``--apply`` writes the
winner through ``kuaidi setup``."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
from rich.console import Console

from kuaidi.errors import KuaidiError
from kuaidi.probe import (
    DEFAULT_SAMPLE_SECONDS,
    DEFAULT_TIMEOUT,
    TARGETS,
    ProbeResult,
    parse_candidate,
    probe,
)
from kuaidi.probe.apply import WRITERS, apply_winner, setup_command
from kuaidi.probe.report import as_dict, render
from kuaidi.units import parse_size


def _platform_proxy(root: Path) -> str:
    from kuaidi.platforms import detect

    platform = detect(root)
    if platform.proxy is None or not platform.proxy.url:
        raise KuaidiError(
            f"{platform.display} has no platform proxy kuaidi can read",
            fix="give the proxy URL: --proxy http://HOST:PORT",
        )
    return platform.proxy.url


@click.command(name="probe")
@click.argument("target", type=click.Choice([*TARGETS, "all"]), default="all", required=False)
@click.option("--rounds", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds for the whole probe (all candidates, all rounds).",
)
@click.option(
    "--candidate",
    "candidates",
    multiple=True,
    metavar="NAME=URL",
    help="Probe this mirror instead of the catalog (repeatable; one target only).",
)
@click.option("--package", help="PyPI project whose index page is timed (default pip).")
@click.option(
    "--artifact-package", help="PyPI project whose newest wheel is timed (default: --package)."
)
@click.option("--repo", help="HF / ModelScope repo to time.")
@click.option(
    "--bytes",
    "range_bytes",
    default="256MiB",
    show_default=True,
    help="Most bytes one throughput sample reads (it stops once the rate is steady).",
)
@click.option(
    "--sample-seconds",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_SAMPLE_SECONDS,
    show_default=True,
    help="Longest one throughput sample reads (it stops once the rate is steady).",
)
@click.option(
    "--proxy",
    metavar="URL|turbo",
    help="Measure through this proxy instead of direct ('turbo': the platform's own proxy).",
)
@click.option("--apply", "do_apply", is_flag=True, help="Write the winner with kuaidi setup.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (docs/probe.md).")
@click.option(
    "--root",
    envvar="KUAIDI_ROOT",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    help="Platform detection root for --apply (a fake tree in tests).",
)
def command(
    target: str,
    rounds: int,
    timeout: float,
    candidates: tuple[str, ...],
    package: str | None,
    artifact_package: str | None,
    repo: str | None,
    range_bytes: str,
    sample_seconds: float,
    proxy: str | None,
    do_apply: bool,
    as_json: bool,
    root: Path,
) -> int:
    """Measure mirrors for TARGET (pypi, conda, hf, modelscope; default all) and recommend one."""
    kinds = list(TARGETS) if target == "all" else [target]
    if candidates and len(kinds) != 1:
        raise KuaidiError(
            "--candidate needs one target", fix="e.g. kuaidi probe pypi --candidate x=URL"
        )
    cands = [parse_candidate(c, kinds[0]) for c in candidates] if candidates else None
    size = parse_size(range_bytes, what="--bytes")
    if proxy == "turbo":
        proxy = _platform_proxy(root)
    if proxy and do_apply:
        raise KuaidiError(
            "--apply with --proxy would write a mirror chosen for a route kuaidi does not use",
            fix="probe direct (no --proxy) to choose the mirror to write",
        )

    def one(kind: str) -> ProbeResult:
        return probe(
            kind,
            cands,
            rounds=rounds,
            timeout=timeout,
            range_bytes=size,
            sample_seconds=sample_seconds,
            proxy=proxy,
            package=package,
            artifact_package=artifact_package,
            repo=repo,
        )

    # Targets run side by side, so `all` keeps the same overall time bound as one target.
    with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
        results = list(pool.map(one, kinds))
    written: list[Path] = []
    if do_apply:
        for result in results:
            if result.kind in WRITERS:
                written += apply_winner(result, root=root)
    if as_json:
        doc = as_dict(results)
        if do_apply:
            doc["written"] = [str(p) for p in written]
        click.echo(json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False))
    else:
        console = Console(highlight=False)
        for result in results:
            render(result, console)
        for path in written:
            console.print(f"wrote {path}")
        if written:
            console.print("undo with: kuaidi setup --undo")
        elif not do_apply and not proxy:
            for result in results:
                if result.winner and result.kind in WRITERS:
                    console.print(f"write it with: {setup_command(result)}")
    return 0 if all(r.winner for r in results) else 1
