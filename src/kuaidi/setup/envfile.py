"""The env file (``~/.config/kuaidi/env.sh``): HF endpoint and cache exports, plus ``turbo_on`` /
``turbo_off``. Sourced at login by one marked line (see ``shellrc``), so every variable is in
place before Python starts — ``HF_ENDPOINT`` is read at import time.

The same text, minus nothing, is what ``kuaidi env`` prints for ``eval``; ``kuaidi env`` adds the
index variables too, because it writes no pip.conf / uv.toml.
"""

from __future__ import annotations

from pathlib import Path

from kuaidi.setup.caches import old_hf_home, saved_token
from kuaidi.setup.noproxy import no_proxy_members
from kuaidi.setup.options import Context
from kuaidi.setup.state import UndoState

HEADER = (
    "# Written by `kuaidi setup` (or the script `kuaidi script` makes); re-run it to change.\n"
    "# Undo: `kuaidi setup --undo`, or `bash setup-china-mirrors.sh --undo` without kuaidi.\n"
)
EVAL_HEADER = (
    '# From `kuaidi env`: eval "$(kuaidi env)" sets this shell only; `kuaidi setup` persists.\n'
)
EVAL_HEADER_FISH = (  # fish has no $(…) in older releases: its own way to load the output
    "# From `kuaidi env --shell fish`: kuaidi env --shell fish | source (this shell only).\n"
)


def targets(ctx: Context) -> list[Path]:
    """The one env file."""
    return [ctx.env_file]


def warnings(ctx: Context) -> list[str]:
    """A --data-disk that does not exist (the platform's own disk is checked by detect)."""
    chosen = ctx.options.data_disk
    if chosen is not None and not Path(chosen).is_dir():
        return [f"--data-disk {chosen} does not exist: the caches will be created there"]
    return []


def cache_dirs(data_disk: Path) -> dict[str, str]:
    """Cache variables moved onto the data disk (platforms.md §3)."""
    d = str(data_disk).rstrip("/") or "/"
    return {
        "HF_HOME": f"{d}/hf",
        "HF_HUB_CACHE": f"{d}/hf/hub",
        "HF_DATASETS_CACHE": f"{d}/hf/datasets",
        "MODELSCOPE_CACHE": f"{d}/modelscope",
        "TORCH_HOME": f"{d}/torch",
        "PIP_CACHE_DIR": f"{d}/pip",
        "UV_CACHE_DIR": f"{d}/uv",
        "CONDA_PKGS_DIRS": f"{d}/conda/pkgs",
    }


def moved_caches(ctx: Context) -> dict[str, str]:
    """The caches ``kuaidi cache move`` put elsewhere (still there), from setup's state."""
    moved = UndoState(ctx.state_dir).load().moved_caches
    return {name: path for name, path in moved.items() if Path(path).is_dir()}


def exports(ctx: Context, *, with_indexes: bool = False) -> dict[str, str]:
    """Every variable kuaidi exports, in order.

    ``HF_HUB_ENABLE_HF_TRANSFER=0``: hf_transfer can hang without an error and is deprecated;
    ``HF_HUB_DISABLE_XET=1``: the mirrors pass Xet through to the origin (hf-protocol.md).

    ``with_indexes`` (``kuaidi env``, which writes no files) selects by ``ctx.targets``: ``env``
    the HF and cache variables, ``pip`` ``PIP_INDEX_URL``, ``uv`` its index and Python mirror.
    """
    values: dict[str, str] = {}
    if not with_indexes or "env" in ctx.targets:
        values["HF_ENDPOINT"] = ctx.hf.url
        values["HF_HUB_DISABLE_XET"] = "1"
        values["HF_HUB_ENABLE_HF_TRANSFER"] = "0"
        if ctx.data_disk is not None:
            values.update(cache_dirs(ctx.data_disk))
        # a moved cache's data is where the move put it: never point back at an empty default
        values.update(moved_caches(ctx))
        hf_home = values.get("HF_HOME")
        new_home = Path(hf_home) if hf_home else old_hf_home(ctx.home, ctx.environ)
        token = saved_token(ctx.home, ctx.environ, new_home)
        if token is not None:  # the saved login keeps working under the new HF_HOME
            values["HF_TOKEN_PATH"] = str(token)
    if with_indexes and "pip" in ctx.targets:
        values["PIP_INDEX_URL"] = ctx.pypi.url
    if with_indexes and "uv" in ctx.targets:
        values["UV_DEFAULT_INDEX"] = ctx.pypi.url
        values["UV_PYTHON_INSTALL_MIRROR"] = ctx.python.url
    return values


def no_proxy(ctx: Context) -> str:
    """The comma list ``turbo_on`` exports as both ``no_proxy`` and ``NO_PROXY``."""
    # Every mirror a written file or an export names (uv's Python mirror only with uv), and the
    # domestic defaults besides: keeping a mirror off the proxy is never wrong.
    mirrors = [ctx.pypi, ctx.hf, ctx.modelscope]
    if "uv" in ctx.targets:
        mirrors.append(ctx.python)
    if "conda" in ctx.targets:
        mirrors.append(ctx.conda)
    return ",".join(no_proxy_members(mirrors, ctx.options.extra_no_proxy))


def _turbo_sources(ctx: Context) -> tuple[str, str]:
    """(network_turbo file, fixed proxy URL) for this platform; either may be empty."""
    proxy = ctx.platform.proxy
    if proxy is None:
        return "", ""
    if proxy.kind == "network_turbo" and proxy.source is not None:
        return str(proxy.source), ""
    return "", proxy.url or ""


def sh_quote(value: str) -> str:
    """Double-quote for POSIX sh: only ``\\ " $ ` `` need escaping inside."""
    escaped = "".join("\\" + c if c in '\\"$`' else c for c in value)
    return f'"{escaped}"'


def render_sh(ctx: Context, *, with_indexes: bool = False) -> str:
    """The POSIX-sh text (bash, zsh, dash): exports + turbo functions. Prints nothing."""
    lines = [EVAL_HEADER if with_indexes else HEADER]
    lines.append(f"# platform: {ctx.platform.display}; data disk: {ctx.data_disk or 'none'}\n")
    for name, value in exports(ctx, with_indexes=with_indexes).items():
        lines.append(f"export {name}={sh_quote(value)}\n")
    turbo_file, fixed = _turbo_sources(ctx)
    lines.append(
        _TURBO_SH.replace("@NO_PROXY@", sh_quote(no_proxy(ctx)))
        .replace("@TURBO_FILE@", sh_quote(turbo_file))
        .replace("@FIXED@", sh_quote(fixed))
    )
    return "".join(lines)


def render(ctx: Context, path: Path, old: str | None) -> str:
    """The env file is kuaidi's own: always the full text."""
    return render_sh(ctx)


# turbo_on [URL]: the platform proxy (AutoDL's /etc/network_turbo, read at call time so its
# per-region IP is never baked in) or URL, with every mirror kuaidi configured kept direct.
_TURBO_SH = """
# turbo_on [http://HOST:PORT]: proxy on for this shell; the domestic mirrors stay direct.
KUAIDI_NO_PROXY=@NO_PROXY@
KUAIDI_TURBO_FILE=@TURBO_FILE@
KUAIDI_TURBO_URL=@FIXED@
turbo_on() {
    _kuaidi_url="${1:-}"
    _kuaidi_more=""
    if [ -z "$_kuaidi_url" ] && [ -n "$KUAIDI_TURBO_FILE" ] && [ -f "$KUAIDI_TURBO_FILE" ]; then
        # shellcheck source=/dev/null
        _kuaidi_url="$(. "$KUAIDI_TURBO_FILE" >/dev/null 2>&1
            printf '%s' "${https_proxy:-${http_proxy:-}}")"
        # shellcheck source=/dev/null
        _kuaidi_more="$(. "$KUAIDI_TURBO_FILE" >/dev/null 2>&1; printf '%s' "${no_proxy:-}")"
    fi
    [ -n "$_kuaidi_url" ] || _kuaidi_url="$KUAIDI_TURBO_URL"
    if [ -z "$_kuaidi_url" ]; then
        echo "turbo_on: this box has no known proxy; use: turbo_on http://HOST:PORT" >&2
        unset _kuaidi_url _kuaidi_more
        return 1
    fi
    export http_proxy="$_kuaidi_url" https_proxy="$_kuaidi_url"
    export HTTP_PROXY="$_kuaidi_url" HTTPS_PROXY="$_kuaidi_url"
    export no_proxy="${KUAIDI_NO_PROXY}${_kuaidi_more:+,$_kuaidi_more}"
    export NO_PROXY="$no_proxy"
    unset _kuaidi_url _kuaidi_more
}
# turbo_off: back to direct connections.
turbo_off() {
    unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
}
"""


def render_fish(ctx: Context, *, with_indexes: bool = True) -> str:
    """The same for fish: ``set -gx`` and fish functions."""
    lines = [EVAL_HEADER_FISH if with_indexes else HEADER]
    for name, value in exports(ctx, with_indexes=with_indexes).items():
        lines.append(f"set -gx {name} {_fish_quote(value)}\n")
    turbo_file, fixed = _turbo_sources(ctx)
    lines.append(
        _TURBO_FISH.replace("@NO_PROXY@", _fish_quote(no_proxy(ctx)))
        .replace("@TURBO_FILE@", _fish_quote(turbo_file))
        .replace("@FIXED@", _fish_quote(fixed))
    )
    return "".join(lines)


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_TURBO_FISH = """
function turbo_on --description 'proxy on; domestic mirrors stay direct'
    set -l url $argv[1]
    set -l more ''
    set -l file @TURBO_FILE@
    if test -z "$url"; and test -n "$file"; and test -f "$file"
        set url (sh -c '. "$1" >/dev/null 2>&1; printf "%s" "${https_proxy:-$http_proxy}"' sh $file)
        set more (sh -c '. "$1" >/dev/null 2>&1; printf "%s" "${no_proxy:-}"' sh $file)
    end
    test -n "$url"; or set url @FIXED@
    if test -z "$url"
        echo 'turbo_on: this box has no known proxy; use: turbo_on http://HOST:PORT' >&2
        return 1
    end
    set -gx http_proxy $url; set -gx https_proxy $url
    set -gx HTTP_PROXY $url; set -gx HTTPS_PROXY $url
    set -l list @NO_PROXY@
    test -n "$more"; and set list "$list,$more"
    set -gx no_proxy $list; set -gx NO_PROXY $list
end
function turbo_off --description 'back to direct connections'
    set -e http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
end
"""
