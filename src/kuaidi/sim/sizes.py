"""Human sizes ("64KiB", "1.5MB") for size specs and fault offsets. Units are binary: 1KB = 1KiB
= 1024 bytes, as ML file listings usually mean."""

from __future__ import annotations

import re

from kuaidi.errors import KuaidiError

_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """Bytes in ``text``: ``parse_size("64KiB") == 65536``; ints pass through.

    Raises KuaidiError naming the bad text.
    """
    if isinstance(text, int):
        return text
    match = _SIZE.match(text)
    if not match:
        raise KuaidiError(
            f"bad size {text!r}",
            fix="write a number with an optional unit: 600B, 64KB, 1.5MiB, 2GB",
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def format_size(n: float) -> str:
    """``format_size(65536) == "64.0 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover
