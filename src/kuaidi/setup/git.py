"""git: the origin-side proxy for GitHub only, as git's own per-URL setting.

    [http "https://github.com/"]
            proxy = http://172.31.1.128:12798

git applies ``http.<url>.*`` to matching URLs only (git-config, "http.<url>.*"), so ``git clone``,
``pip install git+https://github.com/…`` and uv's git dependencies reach GitHub through the
platform's academic proxy while Gitee, the PyPI mirror and everything else stay direct — what
``source /etc/network_turbo`` gets wrong. Never a global ``http.proxy``.

Written only when an origin-side proxy is known: ``--proxy URL``, ``KUAIDI_PROXY``, or the
platform's own (AutoDL's network_turbo, GPUShare's turbo host). The file is edited by real git
(``git config --file`` on a copy), so comments, includes and the user's other settings stay
byte-for-byte; a file git cannot read is a one-line ConfigError and nothing is written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kuaidi.errors import ConfigError
from kuaidi.mirrors.code import code_catalog
from kuaidi.net.scope import normalize_proxy
from kuaidi.net.urls import redact
from kuaidi.setup.options import Context

_OFF = ("none", "off", "direct", "no", "0", "")


def origin_proxy(ctx: Context) -> tuple[str | None, str]:
    """(proxy URL, where it came from) for the origin side; (None, why) when none is known."""
    for value, where in (
        (ctx.options.proxy, "--proxy"),
        (ctx.environ.get("KUAIDI_PROXY"), "KUAIDI_PROXY"),
    ):
        if value is not None:
            if value.strip().lower() in _OFF:
                return None, f"{where} says no proxy"
            return normalize_proxy(value, where), where
    proxy = ctx.platform.proxy
    if proxy is not None and proxy.url:
        return normalize_proxy(proxy.url, str(proxy.source or "platform")), str(
            proxy.source or f"{ctx.platform.display}'s proxy"
        )
    return None, "no origin-side proxy known (network_turbo, KUAIDI_PROXY or --proxy)"


def global_config(ctx: Context) -> Path:
    """The global file git writes with ``--global``: ``$GIT_CONFIG_GLOBAL``, else ~/.gitconfig
    unless only ``$XDG_CONFIG_HOME/git/config`` exists."""
    forced = ctx.environ.get("GIT_CONFIG_GLOBAL")
    if forced:
        return Path(forced).expanduser()
    dot = ctx.home / ".gitconfig"
    xdg = ctx.config_home / "git" / "config"
    return xdg if xdg.is_file() and not dot.exists() else dot


def targets(ctx: Context) -> list[Path]:
    """The global git config, when there is a proxy to scope and git to write with."""
    if origin_proxy(ctx)[0] is None or shutil.which("git") is None:
        return []
    return [global_config(ctx)]


def warnings(ctx: Context) -> list[str]:
    """Why nothing is written, and a global proxy that still catches every host."""
    proxy, why = origin_proxy(ctx)
    found = []
    if proxy is None:
        if ctx.options.only is not None and "git" in ctx.options.only:
            found.append(f"git: {why}: nothing to write")
        return found
    if shutil.which("git") is None:
        return ["git is not installed: no GitHub proxy scope written"]
    path = global_config(ctx)
    for key in ("http.proxy", "https.proxy"):
        value = _get(path, key) if path.is_file() else None
        if value:
            found.append(
                f"{path} sets {key} = {redact(value)} for every host (Gitee and domestic git "
                f"too); kuaidi adds the GitHub scope and leaves it — remove it with "
                f"git config --global --unset {key}"
            )
    if ctx.platform.proxy is not None and why == str(ctx.platform.proxy.source):
        found.append(
            f"git's GitHub proxy is {redact(proxy)} from {why}; after a migration to another "
            "region re-run kuaidi setup (kuaidi doctor checks it)"
        )
    return found


def render(ctx: Context, path: Path, old: str | None) -> str:
    """``old`` with ``http.<url>.proxy`` set for every GitHub URL prefix; ``old`` if already so."""
    proxy = origin_proxy(ctx)[0]
    assert proxy is not None, "targets() lists no file without a proxy"
    with tempfile.TemporaryDirectory(prefix="kuaidi-git-") as tmp:
        copy = Path(tmp) / "config"
        copy.write_bytes((old or "").encode("utf-8"))
        _git(copy, path, "--list")  # git must read the file before kuaidi touches it
        changed = False
        for url in code_catalog().git_proxy_urls:
            key = f"http.{url}.proxy"
            if _git(copy, path, "--get", key, check=False) != proxy:
                _git(copy, path, key, proxy)
                changed = True
        if not changed and old is not None:
            return old
        return copy.read_bytes().decode("utf-8")


def _get(path: Path, key: str) -> str | None:
    """One value of ``path`` (None when unset or the file is unreadable: the plan reports it)."""
    try:
        return _git(path, path, "--get", key, check=False) or None
    except ConfigError:
        return None


def _git(file: Path, shown: Path, *args: str, check: bool = True) -> str:
    """``git config --file FILE ARGS``; a file git refuses is a ConfigError naming ``shown``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(file.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
    }
    proc = subprocess.run(
        ["git", "config", "--file", str(file), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    # exit 1 from --get means "not set"; anything else (128: bad config line) is the file
    if proc.returncode == 0 or (not check and proc.returncode == 1):
        return proc.stdout.strip()
    first = (proc.stderr.strip().splitlines() or ["git config failed"])[0]
    first = first.removeprefix("fatal: ").replace(str(file), str(shown))
    raise ConfigError(
        f"{shown} is not a valid git config file: {first}",
        fix=f"fix or move {shown}, then run kuaidi setup again (nothing was written)",
    )
