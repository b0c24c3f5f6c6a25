"""Where bytes come from: HF-protocol mirrors, ModelScope, and the origin (through a proxy only).

Every source speaks the same small interface (:class:`kuaidi.sources.base.Source`): list a
revision, turn a file into a URL to GET, report the hashes that verify it.
"""

from kuaidi.sources.base import Listing, RemoteFile, RepoRef, Source

__all__ = ["Listing", "RemoteFile", "RepoRef", "Source"]
