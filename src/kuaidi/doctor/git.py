"""git: a proxy for every host, GitHub without its proxy scope, GitHub routed through a
third-party proxy (which sees any token in the URL), and an ``insteadOf`` target that is dead.

The global git config is read with git itself (``git config --global --list`` under the box's
HOME), so includes and the ~/.gitconfig / XDG rule are git's own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from urllib.parse import urlsplit

import httpx

from kuaidi.doctor.context import Context
from kuaidi.doctor.model import Finding, SetupFix, check
from kuaidi.mirrors.code import code_catalog, is_third_party_proxy
from kuaidi.net.urls import redact

# A token in a URL: userinfo, or GitHub's token shapes anywhere in it.
_TOKEN = re.compile(r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")
LIVE_TIMEOUT = 5.0


def git_settings(ctx: Context) -> list[tuple[str, str]]:
    """(key, value) of the user's global git config, in file order (empty without git)."""
    if shutil.which("git") is None:
        return []
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(ctx.home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
    }
    for name in ("XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL"):
        if ctx.env(name):
            env[name] = str(ctx.env(name))
    proc = subprocess.run(
        ["git", "config", "--global", "--list", "-z"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    pairs = []
    for item in proc.stdout.split("\0"):
        key, _, value = item.partition("\n")
        if key:
            pairs.append((key.lower(), value))
    return pairs


def _hide(url: str) -> str:
    return _TOKEN.sub("***", redact(url) or url)


@check("git.global_proxy", "warning", "git has no proxy for every host")
def check_global_proxy(ctx: Context) -> list[Finding]:
    found = [(k, v) for k, v in git_settings(ctx) if k in ("http.proxy", "https.proxy")]
    if not found:
        return []
    return [
        Finding(
            "git.global_proxy",
            "warning",
            "git sends every host through a proxy: Gitee and domestic git hosts crawl or break",
            tuple(f"{k} = {_hide(v)}" for k, v in found),
            "; ".join(f"git config --global --unset {k}" for k, _ in found)
            + "; then kuaidi setup --only git (GitHub alone through the proxy)",
        )
    ]


@check("git.github_scope", "warning", "GitHub has its proxy scope when a turbo proxy exists")
def check_github_scope(ctx: Context) -> list[Finding]:
    proxy = ctx.platform.proxy
    if proxy is None or not proxy.url or shutil.which("git") is None:
        return []
    settings = dict(git_settings(ctx))
    wrong = []
    for url in code_catalog().git_proxy_urls:
        have = settings.get(f"http.{url}.proxy".lower())
        if have != proxy.url:
            wrong.append(f"http.{url}.proxy = {_hide(have) if have else '(unset)'}")
    if not wrong:
        return []
    where = proxy.source or ctx.platform.display
    return [
        Finding(
            "git.github_scope",
            "warning",
            f"{where} offers a proxy for GitHub, but git does not use it for github.com "
            "(a clone crawls, or someone turns the proxy on for everything)",
            (*wrong, f"platform proxy: {redact(proxy.url)}"),
            "kuaidi setup --only git",
            SetupFix(("git",)),
        )
    ]


def _rewrites(ctx: Context) -> list[tuple[str, str]]:
    """(base, instead_of) of every ``url.<base>.insteadOf`` that rewrites a GitHub URL."""
    found = []
    for key, value in git_settings(ctx):
        if key.startswith("url.") and key.endswith((".insteadof", ".pushinsteadof")):
            base = key[4:].rsplit(".", 1)[0]
            if "github.com" in value.lower() or "github.com" in base.lower():
                found.append((base, value))
    return found


@check("git.third_party", "warning", "GitHub is not routed through a third-party proxy")
def check_third_party(ctx: Context) -> list[Finding]:
    findings = []
    for base, instead in _rewrites(ctx):
        host = urlsplit(base).hostname or ""
        if not is_third_party_proxy(host):
            continue
        token = bool(urlsplit(base).password or urlsplit(base).username or _TOKEN.search(base))
        message = f"git routes {instead} through {host}, a third-party GitHub proxy"
        message += (
            ": the token in that URL is sent to it" if token else " (they die often, see traffic)"
        )
        findings.append(
            Finding(
                "git.third_party",
                "warning",
                message,
                (f"url.{_hide(base)}.insteadOf = {instead}",),
                f"git config --global --remove-section url.{_hide(base)}"
                + ("; revoke that token on github.com" if token else "")
                + "; kuaidi setup --only git gives GitHub the platform proxy instead",
            )
        )
    return findings


@check("git.insteadof_dead", "warning", "every insteadOf target for GitHub answers", live=True)
def check_dead(ctx: Context) -> list[Finding]:
    findings = []
    with httpx.Client(timeout=LIVE_TIMEOUT, trust_env=False, follow_redirects=False) as client:
        for base, instead in _rewrites(ctx):
            if not base.startswith(("http://", "https://")):
                continue
            try:
                client.head(base)
            except httpx.HTTPError as exc:
                findings.append(
                    Finding(
                        "git.insteadof_dead",
                        "warning",
                        f"git rewrites {instead} to {_hide(base)}, which does not answer: "
                        "every clone from GitHub fails",
                        (f"{type(exc).__name__} within {LIVE_TIMEOUT:.0f}s",),
                        f"git config --global --remove-section url.{_hide(base)}",
                    )
                )
    return findings
