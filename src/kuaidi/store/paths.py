"""Refuse server-supplied paths that would escape the download target.

Every path in a repo listing comes from a server we do not control. Before anything is written,
each one must be a plain relative POSIX path::

    >>> safe_relpath("vae/config.json")
    'vae/config.json'
    >>> safe_relpath("../etc/passwd")
    Traceback (most recent call last):
    ...
    kuaidi.errors.KuaidiError: ...
"""

from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath

from kuaidi.errors import KuaidiError

_CONTROL = re.compile(r"[\x00-\x1f]")


def unsafe_reason(path: str) -> str | None:
    """Why ``path`` is not a safe relative repo path, or None when it is safe."""
    if not isinstance(path, str) or path == "":
        return "empty path"
    if "\x00" in path:
        return "NUL byte in path"
    if "\\" in path:
        return "backslash in path"
    if _CONTROL.search(path):
        return "control character in path"
    if path.startswith("/"):
        return "absolute path"
    parts = path.split("/")
    if any(p == "" for p in parts):
        return "empty path component"
    if any(p in (".", "..") for p in parts):
        return "'.' or '..' component"
    # A drive ('C:x') or UNC form is harmless on Linux but escapes on Windows when the
    # same cache is later read there.
    # (Only a component with ':' can have one: this check runs once per listed file.)
    if ":" in path and any(PureWindowsPath(p).drive for p in parts):
        return "drive-letter component"
    return None  # (PurePosixPath(path).is_absolute() is exactly the startswith("/") above)


def safe_relpath(path: str) -> str:
    """Return ``path`` unchanged when it is a safe relative repo path, else raise KuaidiError."""
    reason = unsafe_reason(path)
    if reason is not None:
        raise KuaidiError(
            f"the server listed an unsafe file path {path!r} ({reason}); refusing to write it",
            fix="use a trusted endpoint (--endpoint) — a mirror that lists such paths is broken "
            "or hostile",
        )
    return path


def join_inside(root: Path, rel: str) -> Path:
    """``root / rel`` after checking ``rel`` is safe and the result stays under ``root``."""
    safe_relpath(rel)
    joined = root.joinpath(*rel.split("/"))
    # Belt and braces: a symlinked directory inside root could still point outside.
    base = root.resolve()
    parent = joined.parent.resolve() if joined.parent.exists() else joined.parent
    if joined.parent.exists() and base not in (parent, *parent.parents):
        raise KuaidiError(
            f"{rel!r} would be written outside {root} (a directory on the way is a symlink)",
            fix=f"remove the symlink inside {root}",
        )
    return joined
