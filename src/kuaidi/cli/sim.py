"""``kuaidi sim``: run the simulated China network on loopback until Ctrl-C.

Prints each host's URL and the exact exports to point ordinary tools at it.
"""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from kuaidi.errors import KuaidiError
from kuaidi.sim import PROFILES, Sim
from kuaidi.sim.content import DEFAULT_REPOS, RepoSpec, parse_repos
from kuaidi.sim.proxy import TinyProxy
from kuaidi.sim.sizes import format_size


def _serve_dirs(items: tuple[str, ...]) -> list[RepoSpec]:
    specs = []
    for item in items:
        path, sep, repo_id = item.rpartition("=")
        if not sep or not path or not repo_id:
            raise KuaidiError(
                f"bad --serve-dir {item!r}",
                fix="write --serve-dir DIR=org/name, e.g. ./out=me/model",
            )
        specs.append(RepoSpec.from_dir(Path(path).expanduser(), repo_id))
    return specs


def describe(sim: Sim, proxy: str | None = None) -> list[str]:
    """The lines ``kuaidi sim`` prints: hosts, repos and the exports (with ``KUAIDI_PROXY``
    when ``--with-proxy`` started a proxy for the walled origin)."""
    lines = [f"kuaidi sim: profile {sim.profile}, content in {sim.catalog.cache_dir}", "", "Hosts:"]
    for name, host in sim.hosts.items():
        shape = []
        if host.latency:
            shape.append(f"rtt {host.latency * 1000:.0f} ms")
        if host.conn_rate:
            shape.append(f"{format_size(host.conn_rate)}/s per conn")
        if host.total_bucket:
            shape.append(f"{format_size(host.total_bucket.rate)}/s total")
        if host.allowed_peers is not None:
            shape.append("walled: only via proxy egress " + ",".join(sorted(host.allowed_peers)))
        if host.faults.rules:
            shape.append(f"{len(host.faults.rules)} fault rule(s)")
        lines.append(f"  {name:<16} {host.base_url:<24} {host.protocol:<11} {'; '.join(shape)}")
    lines += ["", "Repos:"]
    for repo in sim.catalog.repos:
        kind = "" if repo.repo_type == "model" else " (dataset)"
        extra = f", gated={repo.spec.gated}" if repo.spec.gated else ""
        head = repo.head
        lines.append(
            f"  {repo.repo_id}{kind}: {len(head.files)} files, {format_size(head.size)}{extra}"
        )
    lines += ["", "Use it (paste into your shell):"]
    env = sim.env() | ({"KUAIDI_PROXY": proxy} if proxy else {})
    lines += [f"  export {key}={shlex.quote(value)}" for key, value in env.items()]
    walled = "origin" in sim.hosts and sim.hosts["origin"].allowed_peers is not None
    if walled and proxy:
        lines += [
            "",
            f"KUAIDI_PROXY is a tinyproxy with egress {sim.egress}: kuaidi get reaches the "
            "walled origin through it (and only the origin), as on a box with a real proxy.",
        ]
    elif walled:
        lines += [
            "",
            "kuaidi get uses KUAIDI_ORIGIN only through a proxy whose egress is "
            f"{sim.egress}: restart with --with-proxy to get one (tinyproxy), or pass --proxy URL.",
        ]
    lines += ["", "Ctrl-C to stop."]
    return lines


@click.command(name="sim")
@click.option(
    "--profile",
    default="cn-link",
    show_default=True,
    help="Network profile: " + ", ".join(PROFILES) + ".",
)
@click.option("--repos", "repos", default=None, help="Extra repos: [datasets/]org/name=FILES;…")
@click.option("--serve-dir", "serve_dirs", multiple=True, help="Serve DIR as a repo: DIR=org/name.")
@click.option(
    "--port", "port_base", type=int, default=None, help="Port base (default: free ports)."
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where generated content lives (default: the user cache).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Fault and URL-signing seed.")
@click.option(
    "--with-proxy",
    is_flag=True,
    help="Also start tinyproxy as the way to the walled origin (exported as KUAIDI_PROXY).",
)
def command(
    profile: str,
    repos: str | None,
    serve_dirs: tuple[str, ...],
    port_base: int | None,
    cache_dir: Path | None,
    seed: int,
    with_proxy: bool,
) -> int:
    """Run the simulated mirrors, CDNs and walled origin on loopback until Ctrl-C."""
    if profile not in PROFILES:
        raise KuaidiError(
            f"unknown sim profile {profile!r}", fix="choose one of: " + ", ".join(PROFILES)
        )
    if port_base is not None and not 1 <= port_base <= 65000:
        raise KuaidiError(f"bad --port {port_base}", fix="use a port base between 1024 and 65000")
    specs = [*DEFAULT_REPOS, *(parse_repos(repos) if repos else []), *_serve_dirs(serve_dirs)]
    sim = Sim(profile, repos=specs, cache_dir=cache_dir, port_base=port_base, seed=seed)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    proxy = TinyProxy(bind=sim.egress).start() if with_proxy else None  # error before serving
    previous = signal.signal(signal.SIGTERM, on_signal)
    sim.start()
    try:
        for line in describe(sim, proxy.url if proxy else None):
            click.echo(line)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        if proxy is not None:
            proxy.stop()
        signal.signal(signal.SIGTERM, previous)
    click.echo("kuaidi sim: stopped")
    return 0
