"""What moving the cache variables to the data disk leaves behind: the user's existing caches
(setup repoints variables; it moves no data) and their saved Hugging Face login.

The login: huggingface_hub reads its token from ``$HF_TOKEN_PATH``, default ``$HF_HOME/token``.
Setup points ``HF_TOKEN_PATH`` at the token the user already has rather than copying it to the
new ``HF_HOME``: the secret stays in one file (kuaidi never writes a token), a later
``hf auth login`` updates that same file (and ``stored_tokens`` beside it stays in use), and
``kuaidi setup --undo`` reverts it by removing the env file — nothing to copy back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kuaidi.model import hfpaths

MAX_ENTRIES = 200_000  # a size walk stops here and reports "at least"


def default_cache_home(home: Path, environ: Mapping[str, str]) -> Path:
    return hfpaths.cache_home(environ, home)


def old_hf_home(home: Path, environ: Mapping[str, str]) -> Path:
    """``HF_HOME`` as huggingface_hub resolves it without kuaidi's env file."""
    return hfpaths.hf_home(environ, home)


def saved_token(home: Path, environ: Mapping[str, str], new_hf_home: Path) -> Path | None:
    """The token file to point ``HF_TOKEN_PATH`` at, or None when none is needed: no saved
    login, or one already at the new ``HF_HOME`` (hub finds that one itself)."""
    if (new_hf_home / "token").is_file():
        return None
    candidates = []
    if environ.get("HF_TOKEN_PATH"):
        candidates.append(hfpaths.hf_token_path(environ, home))
    candidates += [
        old_hf_home(home, environ) / "token",
        default_cache_home(home, environ) / "huggingface" / "token",
        home / ".huggingface" / "token",  # huggingface_hub < 0.14's place, still read by 0.26
    ]
    for path in dict.fromkeys(candidates):
        if path.is_file() and path != new_hf_home / "token":
            return path
    return None


@dataclass(frozen=True)
class LeftCache:
    """An existing cache that setup's variables no longer point at."""

    variable: str
    old: Path
    new: Path
    size: int
    complete: bool  # False: the size walk stopped at MAX_ENTRIES

    @property
    def move_command(self) -> str:
        # `cache move --to DIR` lays the hub out at DIR/hf/hub, as setup does on the data disk
        if self.variable == "HF_HUB_CACHE" and self.new.parts[-2:] == ("hf", "hub"):
            return f"kuaidi cache move --to {self.new.parent.parent}"
        return f'mv "{self.old}"/* "{self.new}"/'

    @property
    def shown_size(self) -> str:
        return ("≥ " if not self.complete else "") + human(self.size)


def left_behind(
    home: Path, environ: Mapping[str, str], new_dirs: Mapping[str, str]
) -> list[LeftCache]:
    """Existing, non-empty caches at the places the cache variables point today, for each
    variable ``new_dirs`` repoints elsewhere."""
    cache = default_cache_home(home, environ)
    hf = old_hf_home(home, environ)
    today = {
        "HF_HUB_CACHE": str(hfpaths.hf_hub_cache(environ, home)),
        "HF_DATASETS_CACHE": environ.get("HF_DATASETS_CACHE") or str(hf / "datasets"),
        "MODELSCOPE_CACHE": environ.get("MODELSCOPE_CACHE") or str(cache / "modelscope"),
        "TORCH_HOME": environ.get("TORCH_HOME") or str(cache / "torch"),
        "PIP_CACHE_DIR": environ.get("PIP_CACHE_DIR") or str(cache / "pip"),
        "UV_CACHE_DIR": environ.get("UV_CACHE_DIR") or str(cache / "uv"),
    }
    found = []
    for variable, old_text in today.items():
        if variable not in new_dirs:
            continue
        old, new = Path(old_text).expanduser(), Path(new_dirs[variable])
        # the old path may be the link `kuaidi cache move` left to the new one
        if old == new or not old.is_dir() or old.resolve() == new.resolve():
            continue
        size, complete = tree_size(old)
        if size:
            found.append(LeftCache(variable, old, new, size, complete))
    return found


def tree_size(top: Path) -> tuple[int, bool]:
    """(bytes of the regular files under ``top``, whether the walk finished); links not followed."""
    total, seen, stack = 0, 0, [top]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                return total, False
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total, True


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover
