"""The one exception type the CLI turns into a clear one-line error.

Every user-facing failure names the thing and the fix::

    raise KuaidiError("unknown profile 'cnlink'", fix="choose one of: clean, cn-link, flaky, wall")

The CLI prints ``kuaidi: error: unknown profile 'cnlink' (fix: choose one of: …)`` and exits
with ``exit_code`` (2 for bad input by default).
"""

from __future__ import annotations


class KuaidiError(Exception):
    """A failure the user can act on: a one-line message plus the fix."""

    exit_code: int = 2

    def __init__(self, message: str, *, fix: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code

    def one_line(self) -> str:
        """The message and the fix on one line, as the CLI prints it."""
        text = self.message if not self.fix else f"{self.message} (fix: {self.fix})"
        return " ".join(text.split())

    def __str__(self) -> str:
        return self.one_line()
