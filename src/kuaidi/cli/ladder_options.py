"""The route ladder's options, shared by ``kuaidi get`` and ``kuaidi serve``: which HF mirrors,
ModelScope, the origin and its proxy. ``@ladder_options`` adds them; ``source_options`` turns
the parsed values into :class:`kuaidi.get.SourceOptions`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from kuaidi.get import SourceOptions

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "--endpoint",
        "endpoints",
        multiple=True,
        metavar="URL",
        help="HF mirror, tried in order; repeatable (default HF_ENDPOINT, else hf-mirror.com).",
    ),
    click.option(
        "--modelscope-endpoint",
        metavar="URL",
        help="ModelScope hub (default MODELSCOPE_ENDPOINT, else www.modelscope.cn); 'none' = off.",
    ),
    click.option(
        "--origin",
        metavar="URL",
        help="The origin, used only through a proxy (default KUAIDI_ORIGIN, else huggingface.co).",
    ),
    click.option(
        "--origin-host",
        "origin_hosts",
        multiple=True,
        metavar="HOST:PORT",
        help="Another origin host (e.g. its CDN) to proxy too; repeatable (KUAIDI_ORIGIN_HOSTS).",
    ),
    click.option(
        "--network-turbo",
        metavar="PATH",
        help="AutoDL-style proxy file, read as data (default /etc/network_turbo if present).",
    ),
    click.option(
        "--source",
        type=click.Choice(["mirror", "hf-mirror", "modelscope", "origin"]),
        help="Take every byte from this kind of source only.",
    ),
    click.option(
        "--allow-modelscope-only",
        is_flag=True,
        help="When no HF source lists the repo, use ModelScope, verified by its own sha256.",
    ),
    click.option(
        "--token",
        metavar="T",
        help="HF token (default HF_TOKEN); sent only to a mirror you named and to the origin.",
    ),
]

PROXY = click.option(
    "--proxy",
    metavar="URL",
    help="Proxy for origin hosts only (default KUAIDI_PROXY, the shell's https_proxy, or "
    "AutoDL's network_turbo); "
    "mirrors are always reached directly.",
)


def ladder_options(f: F) -> F:
    """Add the ladder's options (all but ``--proxy``, see :data:`PROXY`) to a click command."""
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def source_options(
    *,
    modelscope_endpoint: str | None,
    origin: str | None,
    origin_hosts: tuple[str, ...],
    source: str | None,
    allow_modelscope_only: bool,
    proxy: str | None,
    network_turbo: str | None,
) -> SourceOptions:
    return SourceOptions(
        modelscope_endpoint=modelscope_endpoint,
        origin=origin,
        origin_hosts=origin_hosts,
        source=source,
        allow_modelscope_only=allow_modelscope_only,
        proxy=proxy,
        network_turbo=network_turbo,
    )
