"""Detect the platform from environment variables, marker paths and the host name.

Everything is read under ``root`` so tests (and ``kuaidi platform --root``) can point at a fake
tree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kuaidi.errors import KuaidiError
from kuaidi.platforms.disks import pick_data_disk
from kuaidi.platforms.profiles import ALL_PROFILES, BARE, PROFILES, Profile, Storage, profile

# An environment variable is a stronger signal than a directory anyone could create.
_WEIGHT = {"env": 3, "hostname": 2, "path": 1}


@dataclass(frozen=True)
class PlatformProxy:
    """The platform's own (academic) proxy: where it comes from and what it exempts."""

    kind: str  # "network_turbo" | "static"
    source: Path | None  # the file it is read from (AutoDL /etc/network_turbo)
    url: str | None  # None when the file is absent or unreadable
    no_proxy: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Platform:
    """Where kuaidi is running and where its caches should go.

    ``data_disk`` is None when no data disk was found (bare box with only ``/``): caches then
    stay in their default places under ``$HOME`` and ``warnings`` says so.
    """

    name: str  # "autodl", "gpushare", …, "bare"
    display: str  # "AutoDL", "恒源云 GPUShare", …
    signals: tuple[str, ...]  # what matched, e.g. ("env AutoDLRegion", "path /root/autodl-tmp")
    data_disk: Path | None
    system_disk: Path
    storage: tuple[Storage, ...] = ()
    warnings: tuple[str, ...] = ()
    proxy: PlatformProxy | None = None
    root: Path = field(default=Path("/"))


def detect(
    root: Path = Path("/"),
    environ: Mapping[str, str] | None = None,
    *,
    name: str | None = None,
) -> Platform:
    """Which platform this box is, with the signals that matched.

    ``environ`` defaults to ``os.environ`` for the real root and to ``{}`` for a fake tree (so the
    caller's own variables never leak into a test). ``name`` skips detection and uses that profile.

    For example::

        detect(Path("/tmp/fake-autodl"), {}).name
        # 'autodl'
    """
    root = Path(root)
    if environ is None:
        environ = os.environ if root == Path("/") else {}
    if name is not None:
        chosen = profile(name)
        if chosen is None:
            names = ", ".join(p.name for p in ALL_PROFILES)
            raise KuaidiError(f"unknown platform {name!r}", fix=f"choose one of: {names}")
        return _build(chosen, root, (f"named: {chosen.name}",))
    best: tuple[int, Profile, tuple[str, ...]] | None = None
    for candidate in PROFILES:
        signals = _signals(candidate, root, environ)
        score = sum(_WEIGHT[s.split(" ", 1)[0]] for s in signals)
        if score and (best is None or score > best[0]):
            best = (score, candidate, signals)
    if best is None:
        return _build(BARE, root, ())
    return _build(best[1], root, best[2])


def _signals(p: Profile, root: Path, environ: Mapping[str, str]) -> tuple[str, ...]:
    found = [f"env {var}" for var in p.env_vars if environ.get(var)]
    found += [f"path {m}" for m in p.markers_any if _under(root, m).exists()]
    if p.markers_all and all(_under(root, m).exists() for m in p.markers_all):
        found.append("path " + " + ".join(p.markers_all))
    host = _hostname(root, environ)
    if host and any(host.startswith(prefix) for prefix in p.hostname_prefixes):
        found.append(f"hostname {host}")
    return tuple(found)


def _hostname(root: Path, environ: Mapping[str, str]) -> str:
    try:
        return (root / "etc/hostname").read_text("utf-8").strip()
    except OSError:
        return environ.get("HOSTNAME", "")


def _under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _build(p: Profile, root: Path, signals: tuple[str, ...]) -> Platform:
    warnings = list(p.warnings)
    data_disk: Path | None
    if p is BARE:
        mount, disk_warnings = pick_data_disk(root)
        warnings += disk_warnings
        data_disk = mount.path if mount else None
    else:
        disks = [_under(root, d) for d in p.data_disks]
        data_disk = next((d for d in disks if d.is_dir()), disks[0])
        if not data_disk.is_dir():
            warnings.append(f"data disk {data_disk} does not exist on this box")
    storage = tuple(Storage(str(_under(root, s.path)), s.role, s.survives) for s in p.storage)
    return Platform(
        name=p.name,
        display=p.display,
        signals=signals,
        data_disk=data_disk,
        system_disk=root,
        storage=storage,
        warnings=tuple(warnings),
        proxy=_proxy(p, root),
        root=root,
    )


def _proxy(p: Profile, root: Path) -> PlatformProxy | None:
    if p.proxy_kind == "static":
        return PlatformProxy("static", None, p.proxy_url, (), p.proxy_note)
    if p.proxy_kind != "network_turbo" or p.proxy_source is None:
        return None
    source = _under(root, p.proxy_source)
    url: str | None = None
    no_proxy: tuple[str, ...] = ()
    note = p.proxy_note
    if source.is_file():
        try:
            url, no_proxy = _parse_turbo(source)
        except KuaidiError as exc:
            note = f"{source} is unreadable: {exc.message}"
    return PlatformProxy("network_turbo", source, url, no_proxy, note)


def _parse_turbo(source: Path) -> tuple[str | None, tuple[str, ...]]:
    # The parser belongs to kuaidi.net (one owner for the format); without it kuaidi still knows
    # where the file is, and the env file's turbo_on reads it at run time anyway.
    try:
        from kuaidi.net.turbo import parse_network_turbo
    except ImportError:
        return None, ()
    result = parse_network_turbo(source)
    if isinstance(result, tuple):
        url, members = result[0], result[1]
    else:
        url = getattr(result, "proxy", None) or getattr(result, "url", None)
        members = getattr(result, "no_proxy", ())
    if isinstance(members, str):
        members = [m for m in members.split(",") if m.strip()]
    return url, tuple(m.strip() for m in members)
