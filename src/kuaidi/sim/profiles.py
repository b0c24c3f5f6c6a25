"""The sim's network profiles — the ONE place that says which hosts exist and how they behave.

=========  ==================================================================================
clean      every host fast, no faults, origin reachable directly
cn-link    China as seen from a GPU box: domestic hosts fast with a per-connection cap on the
           CDNs; origin (huggingface.co) slow (RTT, 1 MiB/s per connection, 4 MiB/s total) and
           walled — reachable only through a proxy egress (127.0.0.9)
flaky      cn-link plus seeded stalls, resets, 5xx and 429s on the mirror and its CDN
wall       clean, but origin / origin-cdn only through a proxy
=========  ==================================================================================

Hosts: ``hf-mirror`` (HF protocol, like hf-mirror.com) and its CDN ``hf-cdn``; ``origin``
(huggingface.co) and ``origin-cdn``; ``modelscope``; ``pypi-tuna``, ``pypi-aliyun``,
``pypi-slow``. A module ``kuaidi.sim.pypi`` may add or reshape PyPI hosts with a table
``PYPI_HOSTS = {name: {"options": {...}, "conn_rate": ..., ...}}`` (merged here, protocol "pypi");
``kuaidi.sim.modelscope`` likewise with ``MODELSCOPE_HOSTS``.

Override any knob per host from a test, e.g. one stall on the CDN::

    Sim("clean", faults={"hf-cdn": [stall(after="64KiB", path="model.safetensors", times=1)]})
    Sim("cn-link", overrides={"hf-mirror": {"options": {"page_size": 2}, "latency": 0}})
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Any

from kuaidi.errors import KuaidiError
from kuaidi.sim.faults import FaultRule, reset, stall, status

MiB = 1024 * 1024
EGRESS = "127.0.0.9"  # the proxy's outgoing address: the only peer a walled host serves


@dataclass
class HostSpec:
    """How one host behaves. Rates are bytes/second; ``latency`` seconds before each answer."""

    protocol: str
    options: dict[str, Any] = field(default_factory=dict)
    faults: list[FaultRule] = field(default_factory=list)
    conn_rate: float | None = None
    total_rate: float | None = None
    latency: float = 0.0
    walled: bool = False


def _clean() -> dict[str, HostSpec]:
    return {
        "hf-mirror": HostSpec("hf", {"cdn": "hf-cdn"}),
        "hf-cdn": HostSpec("cdn", {"url_ttl": 3600}),
        "origin": HostSpec("hf", {"cdn": "origin-cdn"}),
        "origin-cdn": HostSpec("cdn", {"url_ttl": 3600}),
        "modelscope": HostSpec("modelscope"),
        "pypi-tuna": HostSpec("pypi"),
        "pypi-aliyun": HostSpec("pypi"),
        "pypi-slow": HostSpec("pypi"),
    }


def _wall() -> dict[str, HostSpec]:
    hosts = _clean()
    for name in ("origin", "origin-cdn"):
        hosts[name].walled = True
    return hosts


def _cn_link() -> dict[str, HostSpec]:
    hosts = _wall()
    for name in ("origin", "origin-cdn"):
        hosts[name].latency = 0.15
        hosts[name].conn_rate = 1 * MiB
        hosts[name].total_rate = 4 * MiB
    hosts["hf-mirror"].latency = 0.01
    hosts["hf-cdn"].latency = 0.01
    hosts["hf-cdn"].conn_rate = 16 * MiB
    hosts["hf-cdn"].total_rate = 96 * MiB
    hosts["modelscope"].latency = 0.01
    hosts["modelscope"].conn_rate = 24 * MiB
    hosts["pypi-tuna"].latency = 0.005
    hosts["pypi-aliyun"].latency = 0.01
    hosts["pypi-slow"].latency = 0.1
    hosts["pypi-slow"].conn_rate = 256 * 1024
    return hosts


def _flaky() -> dict[str, HostSpec]:
    hosts = _cn_link()
    hosts["hf-cdn"].faults += [
        stall(after="256KiB", seconds=None, rate=0.1, times=4),
        reset(after="1MiB", rate=0.1, times=4),
        status(503, rate=0.05, times=4),
    ]
    hosts["hf-mirror"].faults += [
        status(429, retry_after=1, path="/api/*", rate=0.1, times=3),
        status(502, path="*/resolve/*", methods=("HEAD",), rate=0.05, times=3),
    ]
    hosts["modelscope"].faults += [reset(after="512KiB", rate=0.1, times=3)]
    hosts["pypi-tuna"].faults += [status(503, rate=0.05, times=3)]
    return hosts


PROFILES = {"clean": _clean, "cn-link": _cn_link, "flaky": _flaky, "wall": _wall}


def _plugin_hosts(module: str, table: str) -> dict[str, dict[str, Any]]:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return {}
    return dict(getattr(mod, table, {}))


def profile_hosts(name: str) -> dict[str, HostSpec]:
    """Fresh host specs for profile ``name``; unknown names raise KuaidiError listing valid ones."""
    build = PROFILES.get(name)
    if build is None:
        raise KuaidiError(
            f"unknown sim profile {name!r}", fix="choose one of: " + ", ".join(PROFILES)
        )
    hosts = build()
    for module, table, protocol in (
        ("kuaidi.sim.pypi", "PYPI_HOSTS", "pypi"),
        ("kuaidi.sim.modelscope", "MODELSCOPE_HOSTS", "modelscope"),
    ):
        for host_name, entry in _plugin_hosts(module, table).items():
            # The plugin's settings win; the profile's network shape stays where it set none.
            hosts[host_name] = _merge(hosts.get(host_name) or HostSpec(protocol), dict(entry))
    return hosts


def _merge(spec: HostSpec, changes: dict[str, Any]) -> HostSpec:
    unknown = set(changes) - {f.name for f in dataclasses.fields(HostSpec)}
    if unknown:
        raise KuaidiError(
            f"unknown host setting(s) {sorted(unknown)}",
            fix="use protocol, options, faults, conn_rate, total_rate, latency, walled",
        )
    merged = dataclasses.replace(spec, options=dict(spec.options), faults=list(spec.faults))
    for key, value in changes.items():
        if key == "options":
            merged.options.update(value)
        else:
            setattr(merged, key, value)
    return merged


def apply_overrides(
    hosts: dict[str, HostSpec],
    overrides: dict[str, dict[str, Any]] | None = None,
    faults: dict[str, list[FaultRule]] | None = None,
) -> dict[str, HostSpec]:
    """Hosts with ``overrides`` applied (options merged, other fields replaced; a new host name
    needs ``protocol``) and ``faults`` appended to each named host's rules."""
    out = dict(hosts)
    for name, changes in (overrides or {}).items():
        if name not in out:
            if "protocol" not in changes:
                raise KuaidiError(f"unknown sim host {name!r}", fix="use one of: " + ", ".join(out))
            out[name] = _merge(HostSpec(changes["protocol"]), changes)
        else:
            out[name] = _merge(out[name], changes)
    for name, rules in (faults or {}).items():
        if name not in out:
            raise KuaidiError(f"unknown sim host {name!r}", fix="use one of: " + ", ".join(out))
        out[name] = _merge(out[name], {"faults": [*out[name].faults, *rules]})
    return out
