"""Moved to :mod:`kuaidi.model` (the shared vocabulary of every layer)."""

from kuaidi.model import RemoteFile, RepoRef  # re-export for in-flight branches; remove after merge

__all__ = ["RemoteFile", "RepoRef"]
