"""pip and uv: ``global.proxy`` (it disables NO_PROXY), the origin index, and pip/uv/conda
pointing at different mirrors."""

from __future__ import annotations

from urllib.parse import urlsplit

from kuaidi.doctor.context import Context
from kuaidi.doctor.endpoints import ORIGIN_SUFFIXES, conda_channel_urls
from kuaidi.doctor.model import Finding, SetupFix, check
from kuaidi.mirrors import catalog


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_origin(url: str) -> bool:
    host = _host(url)
    return any(host == s or host.endswith("." + s) for s in ORIGIN_SUFFIXES)


def site_of(url: str) -> str:
    """The catalog's mirror name for a URL's host (``tuna``), else the host itself."""
    host = _host(url)
    for mirror in catalog():
        if mirror.host == host or (mirror.no_proxy and host.endswith("." + mirror.no_proxy)):
            return mirror.name
    return host


@check("pip.proxy", "error", "pip has no proxy of its own")
def check_pip_proxy(ctx: Context) -> list[Finding]:
    found = ctx.pip_setting("proxy", sections=("global", "install", "download"))
    if found is None or not found.value:
        return []
    if found.source.startswith("$"):
        fix = f"unset {found.source[1:]}"
    else:
        path, _, section = found.source.rpartition(" [")
        fix = f"pip config --{_scope(ctx, path)} unset {section.rstrip(']')}.proxy   # in {path}"
    return [
        Finding(
            "pip.proxy",
            "error",
            "pip has its own proxy setting: pip then sends every host through it and ignores "
            "NO_PROXY, environment proxies and REQUESTS_CA_BUNDLE",
            (f"proxy={found.value} (from {found.source})",),
            fix,
        )
    ]


def _scope(ctx: Context, path: str) -> str:
    if path.startswith(str(ctx.home)):
        return "user"
    if "/etc/" in path:
        return "global"
    return "site"


@check("pip.index", "warning", "pip and uv use a mirror")
def check_index(ctx: Context) -> list[Finding]:
    pip, uv = ctx.pip_index(), ctx.uv_index()
    origin = [(name, v) for name, v in (("pip", pip), ("uv", uv)) if is_origin(v.value)]
    if not origin:
        return []
    mirror = next((v.value for v in (pip, uv) if not is_origin(v.value)), None)
    return [
        Finding(
            "pip.index",
            "warning",
            f"{' and '.join(n for n, _ in origin)} {'download' if len(origin) > 1 else 'downloads'}"
            " from the origin PyPI, which is slow from mainland China",
            tuple(f"{n} index: {v.value} (from {v.source})" for n, v in origin),
            "kuaidi setup --only pip,uv" + (f" --pypi {mirror}" if mirror else ""),
            SetupFix(("pip", "uv"), pypi=mirror),
        )
    ]


@check("mirrors.agree", "warning", "pip, uv and conda use the same mirror site")
def check_agree(ctx: Context) -> list[Finding]:
    pip, uv = ctx.pip_index(), ctx.uv_index()
    findings = []
    if not is_origin(pip.value) and not is_origin(uv.value) and _host(pip.value) != _host(uv.value):
        findings.append(
            Finding(
                "mirrors.agree",
                "warning",
                "pip and uv use different PyPI mirrors: installs resolve differently (one may be "
                "stale) and both must be kept off a proxy",
                (f"pip: {pip.value} (from {pip.source})", f"uv: {uv.value} (from {uv.source})"),
                f"kuaidi setup --only pip,uv --pypi {pip.value}",
                SetupFix(("pip", "uv"), pypi=pip.value),
            )
        )
    if is_origin(pip.value):
        return findings
    pip_site = site_of(pip.value)
    conda_sites = {site_of(url): url for url, _ in conda_channel_urls(ctx) if not is_origin(url)}
    others = {s: u for s, u in conda_sites.items() if s != pip_site}
    if conda_sites and others:
        findings.append(
            Finding(
                "mirrors.agree",
                "info",
                "conda and pip use different mirror sites: both must be reachable and kept off a "
                "proxy",
                (f"pip: {pip.value}", *(f"conda: {u}" for u in others.values())),
                "kuaidi probe all, then kuaidi setup --pypi NAME --conda NAME with one site",
            )
        )
    return findings


@check("pip.trusted_host", "warning", "pip verifies TLS for its HTTPS mirrors")
def check_trusted_host(ctx: Context) -> list[Finding]:
    found = ctx.pip_setting("trusted-host")
    if found is None or not found.value.strip():
        return []
    index = ctx.pip_index().value
    https_hosts = {_host(index)} if index.startswith("https://") else set()
    extra = ctx.pip_setting("extra-index-url")
    for url in extra.value.split() if extra else []:
        if url.startswith("https://"):
            https_hosts.add(_host(url))
    trusted = {h.split(":")[0].lower() for h in found.value.split()}
    skipped = sorted(trusted & https_hosts)
    if not skipped:
        return []
    return [
        Finding(
            "pip.trusted_host",
            "warning",
            f"pip trusts {', '.join(skipped)} without verifying TLS although it is served over "
            "HTTPS (old switch scripts add it): a hijacked connection goes unnoticed",
            (f"trusted-host = {found.value} (from {found.source})", f"index-url = {index}"),
            "remove those hosts from trusted-host (`pip config --user unset global.trusted-host`, "
            "or edit the file named above); trusted-host is only for plain-http mirrors",
        )
    ]
