"""``kuaidi script``: the same set-up as a standalone bash script, for a box without kuaidi.

Generated from the same writers as ``kuaidi setup`` (each file rendered for an empty HOME), so in
a clean HOME the script writes byte-identical files. Runs with bash alone: ``set -u``, no Python,
no unquoted ``|`` inside a grep, shellcheck-clean. On a file that already exists with other
content it cannot merge like ``kuaidi setup`` does: it keeps ``<file>.kuaidi-bak`` (once) and
replaces it, unless the file already names the mirror. ``bash script --undo`` puts the backups
back, deletes the files it wrote and removes its line from the rc files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kuaidi import __version__
from kuaidi.setup import conda, envfile, git, jupyter, pip, uv
from kuaidi.setup.options import Context, SetupOptions, resolve
from kuaidi.setup.shellrc import MARK

_NO_HOME = Path("/nonexistent/kuaidi-script-home")


def render_script(options: SetupOptions) -> str:
    """The script text for ``options`` (platform detected under ``options.root`` or named)."""
    real = resolve(options)
    # Render every file as for an empty HOME: what the script writes on a fresh box.
    ctx = dataclasses.replace(real, home=_NO_HOME, environ={})
    parts = [_header(ctx), _PRELUDE]
    if "pip" in ctx.targets:
        content = pip.render(ctx, Path("pip.conf"), None)
        parts.append(
            'pip_conf="${PIP_CONFIG_FILE:-$config_home/pip/pip.conf}"\n'
            'if [ "$pip_conf" = /dev/null ]; then\n'
            '    echo "skipped pip: PIP_CONFIG_FILE=/dev/null disables pip config files"\n'
            "else\n"
            f'    kuaidi_put "$pip_conf" {_q(ctx.pypi.url)} {_heredoc(content)}'
            "fi\n"
        )
    if "uv" in ctx.targets:
        content = uv.render(ctx, Path("uv.toml"), None)
        parts.append(
            'uv_toml="${UV_CONFIG_FILE:-$config_home/uv/uv.toml}"\n'
            f'kuaidi_put "$uv_toml" {_q(ctx.pypi.url)} {_heredoc(content)}'
        )
    if "conda" in ctx.targets:
        content = conda.render(ctx, Path(".condarc"), None)
        parts.append(
            'condarc="${CONDARC:-$HOME/.condarc}"\n'
            f'kuaidi_put "$condarc" {_q(ctx.conda.url)} {_heredoc(content)}'
        )
    if "env" in ctx.targets:
        content = envfile.render(ctx, Path("env.sh"), None)
        parts.append(f'kuaidi_put "$env_file" - {_heredoc(content)}')
    if "jupyter" in ctx.targets:
        content = jupyter.render(ctx, jupyter.startup_file(ctx), None)
        parts.append(
            'ipython_dir="${IPYTHONDIR:-$HOME/.ipython}"\n'
            f'kuaidi_put "$ipython_dir/profile_default/startup/{jupyter.STARTUP_NAME}" - '
            f"{_heredoc(content)}"
        )
    if "git" in ctx.targets and git.targets(ctx):
        parts.append(_git_part(ctx))
    if "shell" in ctx.targets:
        parts.append(_SHELL)
    parts.append(_FOOTER)
    return "".join(parts)


def _git_part(ctx: Context) -> str:
    """git's per-URL GitHub proxy, written by git itself (as ``kuaidi setup`` does)."""
    proxy = git.origin_proxy(ctx)[0] or ""
    fresh = git.render(ctx, Path(".gitconfig"), None)
    sets = "".join(
        f'    git config --file "$git_conf" {_q(f"http.{url}.proxy")} {_q(proxy)} &&\n'
        for url in git.code_catalog().git_proxy_urls
    )
    checks = " && ".join(
        f'[ "$(git config --file "$git_conf" --get {_q(f"http.{url}.proxy")})" = {_q(proxy)} ]'
        for url in git.code_catalog().git_proxy_urls
    )
    return (
        'git_conf="${GIT_CONFIG_GLOBAL:-$HOME/.gitconfig}"\n'
        'if [ -z "${GIT_CONFIG_GLOBAL:-}" ] && [ ! -e "$git_conf" ] '
        '&& [ -f "$config_home/git/config" ]; then\n'
        '    git_conf="$config_home/git/config"\n'
        "fi\n"
        f"git_fresh={_q(fresh + 'x')}\n"
        'if [ "$mode" = --undo ]; then\n'
        '    if [ -f "$git_conf.kuaidi-bak" ]; then\n'
        '        mv -f -- "$git_conf.kuaidi-bak" "$git_conf" && echo "restored: $git_conf"\n'
        '    elif [ -f "$git_conf" ] &&\n'
        '        [ "$(cat -- "$git_conf"; printf x)" = "$git_fresh" ]; then\n'
        '        rm -f -- "$git_conf" && echo "removed: $git_conf"\n'
        "    fi\n"
        "elif ! command -v git >/dev/null 2>&1; then\n"
        '    echo "skipped git: git is not installed"\n'
        'elif [ -f "$git_conf" ] && ! git config --file "$git_conf" --list >/dev/null; then\n'
        '    echo "skipped git: $git_conf is not a valid git config file" >&2\n'
        f"elif {checks}; then\n"
        '    echo "unchanged: $git_conf"\n'
        'elif [ "$mode" = --dry-run ]; then\n'
        f'    echo "would update: $git_conf (GitHub through {proxy})"\n'
        "else\n"
        '    if [ -f "$git_conf" ] && [ ! -e "$git_conf.kuaidi-bak" ]; then\n'
        '        cp -p -- "$git_conf" "$git_conf.kuaidi-bak"\n'
        "    fi\n"
        f'{sets}    echo "updated: $git_conf (GitHub through {proxy})"\n'
        "fi\n"
    )


def _header(ctx: Context) -> str:
    p = ctx.platform
    return (
        "#!/usr/bin/env bash\n"
        f"# setup-china-mirrors.sh - generated by kuaidi {__version__} (`kuaidi script`).\n"
        f"# Platform: {p.display}; caches on: {ctx.data_disk or 'their default places'}\n"
        f"# PyPI: {ctx.pypi.url}\n# conda: {ctx.conda.url}\n# HF: {ctx.hf.url}\n"
        "# Idempotent: a second run changes nothing. Needs bash, grep, awk; no Python.\n"
        "# A different existing config file is kept as <file>.kuaidi-bak and replaced;\n"
        "# `kuaidi setup` merges into it instead.\n"
        "# Undo (no kuaidi needed): bash setup-china-mirrors.sh --undo puts every file back\n"
        "# byte for byte, as `kuaidi setup --undo` does.\n"
        + (
            "# WARNING: generated on a bare machine without --platform: no data-disk caches and\n"
            "# no platform proxy are configured. For a GPU box: kuaidi script --platform NAME\n"
            if p.name == "bare" and ctx.options.platform is None
            else ""
        )
        + "set -u\n"
    )


def _q(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _heredoc(content: str) -> str:
    tag = "KUAIDI_EOF"
    while tag in content.splitlines():
        tag += "_"
    return f"<<'{tag}'\n{content}{tag}\n"


_PRELUDE = r"""
mode="${1:-}"
case "$mode" in
    "" | --undo | --dry-run) ;;
    *)
        echo "usage: bash $0 [--undo | --dry-run]" >&2
        exit 2
        ;;
esac
config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
case "$config_home" in
    /*) ;;
    *) config_home="$HOME/.config" ;;
esac
env_file="$config_home/kuaidi/env.sh"
state_home="${XDG_STATE_HOME:-$HOME/.local/state}"
case "$state_home" in
    /*) ;;
    *) state_home="$HOME/.local/state" ;;
esac
state="$state_home/kuaidi/script"

# kuaidi_tmp DEST: a temp name beside DEST by kuaidi's one rule (.NAME.RAND.PID.kuaidi-tmp),
# after sweeping the temp files a killed run left there (their writer's pid is gone).
kuaidi_tmp() {
    local dir="${1%/*}" base="${1##*/}" old pid
    for old in "$dir"/.*.kuaidi-tmp; do
        [ -e "$old" ] || continue
        pid="${old%.kuaidi-tmp}"
        pid="${pid##*.}"
        case "$pid" in *[!0-9]* | "") continue ;; esac
        kill -0 "$pid" 2>/dev/null || rm -f -- "$old"
    done
    printf '%s/.%s.%s.%s.kuaidi-tmp' "$dir" "$base" "$RANDOM" "$$"
}

# kuaidi_state: create the state directory, noting which of its parents did not exist (undo
# removes exactly those, deepest first).
kuaidi_state() {
    local dir="$state" missing=""
    [ -d "$state" ] && return 0
    while [ ! -e "$dir" ]; do
        missing="$missing$dir
"
        dir="${dir%/*}"
    done
    mkdir -p -- "$state" || return 1
    printf '%s' "$missing" >"$state/.created-dirs"
}

# kuaidi_mkdir DIR: mkdir -p, noting each directory it creates (undo removes only those: a
# directory that existed before, even empty, stays).
kuaidi_mkdir() {
    local dir="$1" missing=""
    [ -d "$dir" ] && return 0
    kuaidi_state || return 1
    while [ ! -e "$dir" ]; do
        missing="$missing$dir
"
        dir="${dir%/*}"
    done
    mkdir -p -- "$1" || return 1
    printf '%s' "$missing" >>"$state/.created-dirs"
}

# kuaidi_put DEST ALREADY-MARKER < CONTENT: write DEST atomically unless it is already right.
# ALREADY-MARKER "-" means the file is kuaidi's own (no backup).
kuaidi_put() {
    local dest="$1" marker="$2" new tmp
    # Write through a symlink (dotfiles repos): the link stays a link.
    if [ -L "$dest" ]; then dest="$(readlink -f -- "$dest")"; fi
    new="$(cat; printf x)"
    new="${new%x}"
    if [ "$mode" = --undo ]; then
        if [ -f "$dest.kuaidi-bak" ]; then
            mv -f -- "$dest.kuaidi-bak" "$dest" && echo "restored: $dest"
        elif [ -f "$dest" ] && [ "$(cat -- "$dest"; printf x)" = "${new}x" ]; then
            rm -f -- "$dest" && echo "removed: $dest"
        elif [ -f "$dest" ]; then
            echo "left alone: $dest (changed since this script wrote it)"
        fi
        return 0
    fi
    if [ -f "$dest" ]; then
        if [ "$(cat -- "$dest"; printf x)" = "${new}x" ]; then
            echo "unchanged: $dest"
            return 0
        fi
        if [ "$marker" != "-" ]; then
            if grep -qF -- "$marker" "$dest"; then
                echo "kept: $dest already names $marker"
                return 0
            fi
            if [ "$mode" = --dry-run ]; then
                echo "would replace: $dest (keeping $dest.kuaidi-bak)"
                return 0
            fi
            [ -e "$dest.kuaidi-bak" ] || cp -p -- "$dest" "$dest.kuaidi-bak"
            echo "replaced: $dest (the old file is $dest.kuaidi-bak)"
        elif [ "$mode" = --dry-run ]; then
            echo "would update: $dest"
            return 0
        else
            echo "updated: $dest"
        fi
    elif [ "$mode" = --dry-run ]; then
        echo "would write: $dest"
        return 0
    else
        echo "wrote: $dest"
    fi
    kuaidi_mkdir "$(dirname -- "$dest")" || return 1
    tmp="$(kuaidi_tmp "$dest")"
    if [ -f "$dest" ]; then cp -p -- "$dest" "$tmp"; fi
    printf '%s' "$new" >"$tmp" && mv -f -- "$tmp" "$dest"
}

"""

_SHELL = (
    r"""
case "$env_file" in
    "$HOME"/*) shown="\$HOME/${env_file#"$HOME"/}" ;;
    *) shown="$env_file" ;;
esac
line="[ -f \"$shown\" ] && . \"$shown\"  """
    + MARK
    + r""""

insert_before_code='!done && !/^#/ {print line; done=1} {print} END {if (!done) print line}'
# kuaidi_line RC: exactly one marked line, before RC's first non-comment line (the interactive
# guard), so non-interactive and login shells get the variables too.

# The rc file's bytes before this script first edited it (or a note that it was absent).
kuaidi_kept() {
    local name="${1//\//%}"
    printf '%s/%s' "$state" "${name#%}"
}
kuaidi_line() {
    local rc="$1" tmp kept
    if [ -L "$rc" ]; then rc="$(readlink -f -- "$rc")"; fi
    kept="$(kuaidi_kept "$rc")"
    if [ "$mode" = --undo ]; then
        if [ -f "$kept.absent" ]; then
            rm -f -- "$rc" "$kept.absent" && echo "removed: $rc"
        elif [ -f "$kept" ]; then
            tmp="$(kuaidi_tmp "$rc")"
            cp -p -- "$kept" "$tmp" && mv -f -- "$tmp" "$rc" && rm -f -- "$kept"
            echo "restored: $rc"
        elif [ -f "$rc" ] && grep -q -- '# kuaidi$' "$rc"; then
            tmp="$(kuaidi_tmp "$rc")"
            cp -p -- "$rc" "$tmp"
            grep -v -- '# kuaidi$' "$rc" >"$tmp"
            mv -f -- "$tmp" "$rc" && echo "cleaned: $rc"
        fi
        return 0
    fi
    if [ -f "$rc" ] && [ "$(grep -c -- '# kuaidi$' "$rc")" = 1 ] && grep -qxF -- "$line" "$rc"; then
        echo "unchanged: $rc"
        return 0
    fi
    if [ "$mode" = --dry-run ]; then
        echo "would update: $rc"
        return 0
    fi
    kuaidi_state || return 1
    if [ ! -e "$kept" ] && [ ! -e "$kept.absent" ]; then
        if [ -f "$rc" ]; then cp -p -- "$rc" "$kept" || return 1; else : >"$kept.absent"; fi
    fi
    tmp="$(kuaidi_tmp "$rc")"
    if [ -f "$rc" ]; then cp -p -- "$rc" "$tmp"; fi
    { if [ -f "$rc" ]; then grep -v -- '# kuaidi$' "$rc"; fi; } \
        | awk -v line="$line" "$insert_before_code" >"$tmp" && mv -f -- "$tmp" "$rc"
    echo "updated: $rc"
}

kuaidi_line "$HOME/.bashrc"
if [ -f "$HOME/.zshrc" ]; then kuaidi_line "$HOME/.zshrc"; fi
if [ "$mode" = --undo ]; then
    for name in .bash_profile .bash_login .profile; do kuaidi_line "$HOME/$name"; done
fi
login=""
for name in .bash_profile .bash_login .profile; do
    if [ -f "$HOME/$name" ]; then
        login="$HOME/$name"
        break
    fi
done
[ -n "$login" ] || login="$HOME/.profile"
if [ "$mode" = --undo ]; then
    :
elif [ -f "$login" ] && grep -v -- '^[[:space:]]*#' "$login" | grep -qF -- '.bashrc'; then
    echo "unchanged: $login (it reads ~/.bashrc)"
else
    kuaidi_line "$login"
fi
"""
)

_FOOTER = r"""
if [ "$mode" = --undo ]; then
    if [ -f "$state/.created-dirs" ]; then
        # deepest first: a reverse sort puts every directory after the ones inside it
        created="$(sort -ru -- "$state/.created-dirs")"
        rm -f -- "$state/.created-dirs"
        while IFS= read -r dir; do
            [ -n "$dir" ] && rmdir -- "$dir" 2>/dev/null
        done <<<"$created"
    fi
    echo "undone: every file is as it was before this script ran."
    exit 0
fi
if [ "$mode" = --dry-run ]; then
    echo "dry run: nothing written"
    exit 0
fi
echo "done. New shells get the settings; this one: . \"$env_file\""
echo "after a conda mirror change run: conda clean -i"
"""
