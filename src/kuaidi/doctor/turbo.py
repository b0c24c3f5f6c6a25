"""AutoDL's ``/etc/network_turbo``: left on for every shell, and a whitelist that misses the
mirrors this box is configured with (mirrors-and-config.md §8)."""

from __future__ import annotations

import re
from pathlib import Path

from kuaidi.doctor.context import Context
from kuaidi.doctor.endpoints import configured
from kuaidi.doctor.hf import env_fix
from kuaidi.doctor.model import Finding, check
from kuaidi.doctor.shellrc import rc_files, top_level_lines
from kuaidi.net.noproxy import Family, decide

FAMILIES: tuple[Family, ...] = ("requests", "httpx", "curl", "uv")
_SOURCES_TURBO = re.compile(r"^\s*(source|\.)\s+['\"]?/etc/network_turbo\b")


def turbo_file(ctx: Context) -> Path | None:
    proxy = ctx.platform.proxy
    if proxy is None or proxy.kind != "network_turbo" or proxy.source is None:
        return None
    return proxy.source if proxy.source.is_file() else None


def turbo_settings(ctx: Context) -> tuple[str | None, str]:
    """(proxy URL, no_proxy) the turbo file exports, as ``kuaidi.net.turbo`` reads it (through
    ``kuaidi.platforms``); (None, "") when the file is absent or unreadable."""
    proxy = ctx.platform.proxy
    if proxy is None or not proxy.url:
        return None, ""
    return proxy.url, ",".join(proxy.no_proxy)


@check("turbo.global", "warning", "network_turbo is not on for every shell")
def check_global(ctx: Context) -> list[Finding]:
    if turbo_file(ctx) is None:
        return []
    url, file_no_proxy = turbo_settings(ctx)
    evidence = []
    fixes = []
    for path in rc_files(ctx):
        for number, line in top_level_lines(path):
            if _SOURCES_TURBO.match(line):
                evidence.append(f"{path}:{number}: {line.strip()}")
                fixes.append(f"sed -i '{number}d' {path}")
    # The raw file's proxy *with the raw file's whitelist* (kuaidi's turbo_on exports the same
    # proxy but its own no_proxy: that is scoped use, not a global turbo).
    raw = (ctx.env("no_proxy") or "") in ("", file_no_proxy)
    live = [n for n in ("http_proxy", "https_proxy") if url and ctx.env(n) == url and raw]
    if live:
        evidence.append(f"this shell has {', '.join(live)}={url}")
    if not evidence:
        return []
    fix = "; ".join(fixes) if fixes else "turbo_off (or: unset http_proxy https_proxy)"
    return [
        Finding(
            "turbo.global",
            "warning",
            "AutoDL network_turbo is on globally: pip, conda and weight downloads from mirrors "
            "crawl through the academic proxy",
            tuple(evidence),
            f"{fix}; then use `turbo_on` / `turbo_off` (kuaidi setup) around GitHub or "
            "huggingface.co fetches only",
        )
    ]


@check("turbo.whitelist", "warning", "network_turbo's no_proxy covers the configured mirrors")
def check_whitelist(ctx: Context) -> list[Finding]:
    if turbo_file(ctx) is None:
        return []
    url, no_proxy = turbo_settings(ctx)
    if not url:
        return []
    env = {"http_proxy": url, "https_proxy": url, "no_proxy": no_proxy}
    missing = []
    for endpoint in configured(ctx):
        if not endpoint.domestic:
            continue
        proxied = [f for f in FAMILIES if decide(endpoint.url, env, f).proxy]
        if proxied:
            missing.append(f"{endpoint.client} {endpoint.host}: proxied for {', '.join(proxied)}")
    if not missing:
        return []
    has_turbo_on = ctx.kuaidi_env_file.is_file()
    evidence = (f"{turbo_file(ctx)}: no_proxy={no_proxy or '<unset>'}", *missing)
    if has_turbo_on:
        return [
            Finding(
                "turbo.whitelist",
                "info",
                "`source /etc/network_turbo` would send these mirrors through the proxy; kuaidi's "
                "`turbo_on` keeps them direct",
                evidence,
                "use `turbo_on` instead of `source /etc/network_turbo`",
            )
        ]
    return [
        Finding(
            "turbo.whitelist",
            "warning",
            "AutoDL network_turbo's no_proxy misses the mirrors this box uses: with turbo on they "
            "go through the academic proxy",
            evidence,
            "kuaidi setup defines `turbo_on` (the platform proxy with every mirror kept direct); "
            "use it instead of `source /etc/network_turbo`",
            env_fix(ctx),
        )
    ]
