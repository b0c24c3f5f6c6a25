"""Every failure kuaidi reports, as one tree — the one place a caller needs to read.

Each error is one line that names the thing and the fix::

    raise UsageError("unknown profile 'cnlink'", fix="choose one of: clean, cn-link, flaky, wall")

The CLI prints ``kuaidi: error: unknown profile 'cnlink' (fix: choose one of: …)`` and exits
with ``exit_code``. API users catch by kind::

    try:
        kuaidi.snapshot_download("org/gated-model")
    except kuaidi.GatedRepo:
        ...

The tree (exit code in brackets)::

    KuaidiError [2]                 anything kuaidi reports; bad input if nothing fits better
    ├── UsageError [2]              a flag, argument or value the user can correct
    │   ├── ConfigError [2]         a config file kuaidi will not read or rewrite (file, line)
    │   └── PathError [2]           a path kuaidi cannot use (read-only, under a file, …)
    ├── HubAnswer [2]               a source's definite answer: retrying cannot help
    │   ├── RepoNotFound [2]        no such repo (or it is private and the token has no access)
    │   ├── RevisionNotFound [2]    the repo exists; the branch / tag / commit does not
    │   ├── EntryNotFound [2]       the revision exists; a file or folder asked for does not
    │   ├── GatedRepo [2]           gated: no token sent, or the token has not been granted access
    │   └── TokenRejected [2]       the server rejected the token itself (invalid or expired)
    ├── UnsafeListing [1]           a listing kuaidi will not act on (too large, escaping)
    ├── DiskFull [1]                the missing bytes do not fit, or a write hit ENOSPC/EDQUOT
    ├── VerificationFailed [1]      bytes on disk or on the wire do not match the expected hash
    ├── SourceUnavailable [1]       no source answered (down, timing out): try later
    └── Interrupted [130]           Ctrl-C / SIGTERM; progress is kept, rerun to resume

Not an error, but from the same place: :class:`KuaidiWarning` (a ``UserWarning``) for what
kuaidi worked around and the user should know — a malformed platform file it ignored, a token
crossing a proxy in clear text. The CLI prints it as one ``kuaidi: warning: …`` line; API users
see it through :mod:`warnings` (and can turn it into an error with ``-W error``).

``HubAnswer`` errors are *answers*: the route ladder stops at them rather than trying the next
source for a different result (a typo'd revision must not fall through to another hub's
``master``). Everything else under :class:`KuaidiError` is the user's to act on as the fix says.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DiskFull",
    "EntryNotFound",
    "GatedRepo",
    "HubAnswer",
    "Interrupted",
    "KuaidiError",
    "KuaidiWarning",
    "PathError",
    "RepoNotFound",
    "RevisionNotFound",
    "SourceUnavailable",
    "TokenRejected",
    "UnsafeListing",
    "UsageError",
    "VerificationFailed",
]


class KuaidiError(Exception):
    """A failure the user can act on: a one-line message plus the fix.

    Args:
        message: what went wrong, naming the thing (a path, a flag, a host, a file).
        fix: what to do about it, e.g. ``"pass --cache-dir /root/autodl-tmp/hf"``.
        exit_code: overrides the class's exit code for this one error.

    Example::

        raise KuaidiError("--connections must be >= 1, got 0", fix="e.g. 8")
    """

    exit_code: int = 2

    def __init__(self, message: str, *, fix: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def kind(self) -> str:
        """The class name (``"GatedRepo"``), as ``--json`` and ``FileOutcome.kind`` report it."""
        return type(self).__name__

    def one_line(self) -> str:
        """The message and the fix on one line, as the CLI prints it."""
        text = self.message if not self.fix else f"{self.message} (fix: {self.fix})"
        return " ".join(text.split())

    def __str__(self) -> str:
        return self.one_line()


class UsageError(KuaidiError):
    """A flag, argument or value the user can correct (exit 2)."""


class ConfigError(UsageError):
    """A config file kuaidi refuses to read or rewrite; the message names the file and line."""


class PathError(UsageError):
    """A path kuaidi cannot use: read-only, under a regular file, on no disk with room."""


class HubAnswer(KuaidiError):
    """A source's definite answer about the repo; the ladder stops here (exit 2)."""


class RepoNotFound(HubAnswer):
    """No such repo at any source that was asked (or private, and the token has no access)."""


class RevisionNotFound(HubAnswer):
    """The repo exists but the revision (branch, tag, commit, ``refs/pr/N``) does not."""


class EntryNotFound(HubAnswer):
    """A file or folder asked for is not in the repo at that revision."""


class GatedRepo(HubAnswer):
    """The repo is gated and the request carried no token, or one without access."""


class TokenRejected(HubAnswer):
    """The server rejected the token itself (invalid or expired), not only for this repo."""


class UnsafeListing(KuaidiError):
    """A listing kuaidi will not act on: too large, too many entries, paths escaping the target."""

    exit_code = 1


class DiskFull(KuaidiError):
    """The bytes still missing do not fit where they go, or a write hit ENOSPC/EDQUOT."""

    exit_code = 1


class VerificationFailed(KuaidiError):
    """Bytes do not match the hash the source listed (sha256 or git sha1)."""

    exit_code = 1


class SourceUnavailable(KuaidiError):
    """No source answered: down, timing out, refusing, or rate-limiting. Try again later."""

    exit_code = 1


class Interrupted(KuaidiError):
    """Ctrl-C or SIGTERM. What reached the disk is journaled; rerun the same command."""

    exit_code = 130


class KuaidiWarning(UserWarning):
    """Something kuaidi worked around and says once: one line, naming the thing and the fix."""
