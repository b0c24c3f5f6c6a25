"""Retry policy: exponential backoff with full jitter, honouring ``Retry-After``."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """``delay(n)`` for the n-th consecutive failure (1-based): base·2^(n-1), jittered, capped."""

    base: float = 0.25
    cap: float = 10.0
    retry_after_cap: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None, *, rng: random.Random) -> float:
        if retry_after is not None:
            # The server said when; a little jitter keeps N connections from returning at once.
            return min(retry_after, self.retry_after_cap) + rng.uniform(0, 0.1)
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        return rng.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))
