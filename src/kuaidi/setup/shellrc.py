"""One marked line that sources the env file, in ``~/.bashrc`` (and ``~/.zshrc`` if present), and
in the bash login file when that file does not already read ``~/.bashrc``.

Where the line goes: right after the file's leading comment block, i.e. *before* Debian's
"If not running interactively, don't do anything" guard, so ``ssh box python train.py`` and
``bash -lc`` get the variables too (the env file prints nothing, so scp/rsync stay safe). A login
shell reads the first of ``~/.bash_profile``, ``~/.bash_login``, ``~/.profile``; Debian's and
AutoDL's ``~/.profile`` source ``~/.bashrc``, so it is left alone; otherwise it gets the line too
(``~/.profile`` is created when there is none). Never ``source ~/.bashrc`` from itself.
"""

from __future__ import annotations

from pathlib import Path

from kuaidi.setup.options import Context

MARK = "# kuaidi"
LOGIN_FILES = (".bash_profile", ".bash_login", ".profile")


def source_line(ctx: Context) -> str:
    """``[ -f "$HOME/.config/kuaidi/env.sh" ] && . "$HOME/.config/kuaidi/env.sh"  # kuaidi``."""
    env_file = ctx.env_file
    try:
        shown = "$HOME/" + str(env_file.relative_to(ctx.home))
    except ValueError:
        shown = str(env_file)
    return f'[ -f "{shown}" ] && . "{shown}"  {MARK}'


def targets(ctx: Context) -> list[Path]:
    """``~/.bashrc``, ``~/.zshrc`` if it exists, and the login file when it needs the line."""
    found = [ctx.home / ".bashrc"]
    zshrc = ctx.home / ".zshrc"
    if zshrc.is_file():
        found.append(zshrc)
    login = login_file(ctx.home)
    if not reads_bashrc(login):
        found.append(login)
    return found


def warnings(ctx: Context) -> list[str]:
    """Nothing to warn about; the line is guarded by ``[ -f ]``."""
    return []


def login_file(home: Path) -> Path:
    """The file a bash login shell reads (created as ``~/.profile`` when none exists)."""
    for name in LOGIN_FILES:
        if (home / name).is_file():
            return home / name
    return home / ".profile"


def reads_bashrc(path: Path) -> bool:
    """True when a non-comment line of ``path`` mentions ``.bashrc`` (Debian's ``~/.profile``)."""
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return False
    return any(".bashrc" in ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))


def render(ctx: Context, path: Path, old: str | None) -> str:
    """``old`` with exactly one marked line; ``old`` itself when it already has exactly that."""
    return with_line(old, source_line(ctx))


def with_line(old: str | None, line: str) -> str:
    """Insert ``line`` before the first non-comment line, dropping older marked lines.

    Mirrored byte for byte by the awk in the generated script (``script.py``).
    """
    lines = [] if not old else old.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    marked = [ln for ln in lines if ln.endswith(MARK)]
    if old is not None and marked == [line]:
        return old
    kept = [ln for ln in lines if not ln.endswith(MARK)]
    at = next((i for i, ln in enumerate(kept) if not ln.startswith("#")), len(kept))
    kept.insert(at, line)
    return "\n".join(kept) + "\n"
