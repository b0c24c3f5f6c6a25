"""Join a server-supplied repo path under a download root without escaping it.

The path check itself (:func:`kuaidi.model.safe_relpath`) is part of the shared vocabulary:
sources run it on every listed path, the store once more before it writes.
"""

from __future__ import annotations

from pathlib import Path

from kuaidi.errors import KuaidiError
from kuaidi.model import safe_relpath


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
