"""One HTTP ``Range`` header against a file size: what to send, or 416.

Only a single ``bytes=`` range is honoured (what huggingface_hub, aria2c and kuaidi send); a
multi-range or malformed header is ignored (the whole file, 200), as RFC 9110 allows.

>>> parse_range("bytes=0-", 10), parse_range("bytes=-3", 10), parse_range("bytes=5-99", 10)
((0, 10), (7, 10), (5, 10))
>>> parse_range("bytes=10-", 10)
'unsatisfiable'
>>> parse_range("bytes=1-2,4-5", 10) is None, parse_range("items=1-2", 10) is None
(True, True)
"""

from __future__ import annotations

import re
from typing import Literal

_ONE = re.compile(r"^\s*bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*$", re.I)


def parse_range(header: str | None, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """``[start, end)`` to send, ``"unsatisfiable"`` (416), or None (ignore: send it all)."""
    if not header:
        return None
    m = _ONE.match(header)
    if not m:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return (max(0, size - n), size)
    start = int(first)
    end = size if last == "" else min(size, int(last) + 1)
    if last != "" and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        return "unsatisfiable"
    return (start, end)
