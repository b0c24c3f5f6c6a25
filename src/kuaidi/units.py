"""Sizes and counts as kuaidi reads and prints them: ONE convention, binary units.

Every size kuaidi prints (``get``, ``cache``, ``sim``, ``doctor``) is binary — KiB, MiB, GiB,
as ``du -h``, ``hf cache scan`` and ML file listings mean them — and every size it reads takes
the same units (a ``B``/``iB`` suffix is optional, ``MB`` is read as MiB)::

    >>> parse_size("2MiB"), parse_size("1MB"), parse_size("512k"), parse_size("600")
    (2097152, 1048576, 524288, 600)
    >>> format_size(3 * 1024**3), format_size(1536), format_size(12)
    ('3.0 GiB', '1.5 KiB', '12 B')
    >>> plural(1, "file"), plural(2, "retry", "retries")
    ('1 file', '2 retries')

Neutral: no kuaidi imports but :mod:`kuaidi.errors`, so every layer may use it.
"""

from __future__ import annotations

import re

from kuaidi.errors import UsageError

__all__ = ["GiB", "KiB", "MiB", "format_rate", "format_size", "parse_size", "plural"]

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
_FACTORS = {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_STEPS = ("B", "KiB", "MiB", "GiB", "TiB")


def parse_size(text: str | int, *, what: str = "size") -> int:
    """Bytes in ``text`` (``"64KiB"``, ``"1.5MB"``, ``"2G"``, ``"600"``); ints pass through.

    Raises :class:`~kuaidi.errors.UsageError` naming ``what`` (e.g. ``"--min-speed"``) and the
    text.
    """
    if isinstance(text, int):
        return text
    match = _SIZE.match(text)
    if not match:
        raise UsageError(
            f"{what} {text!r} is not a size",
            fix="write a number with an optional unit: 600B, 64KiB, 1.5MiB, 2GiB",
        )
    return int(float(match.group(1)) * _FACTORS[match.group(2).upper()])


def format_size(n: float) -> str:
    """``format_size(65536) == "64.0 KiB"``; bytes below 1 KiB as a whole number."""
    value = float(n)
    for unit in _STEPS:
        if abs(value) < 1024 or unit == _STEPS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def format_rate(bytes_per_second: float) -> str:
    """``format_rate(3 * MiB) == "3.0 MiB/s"``."""
    return f"{format_size(bytes_per_second)}/s"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 file"``, ``"2 files"``, ``"2 retries"``; ``many`` for other irregular plurals."""
    if n == 1:
        return f"{n:,} {word}"
    if many is None:
        many = (
            word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
        )
    return f"{n:,} {many}"
