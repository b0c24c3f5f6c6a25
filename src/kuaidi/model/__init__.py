"""The shared vocabulary every layer may import: repos, files, listings, routes, the seams.

Nothing here does I/O or imports another kuaidi layer (only :mod:`kuaidi.errors`): it is the
bottom of the hierarchy drawn in docs/architecture.md. Sources produce these values
(:class:`Listing` of :class:`RemoteFile`, one :class:`Route` per file and rung), the transfer
engine consumes them (:class:`FileJob`), and a store implements :class:`Target`.
"""

from kuaidi.model.repo import Listing, RemoteFile, RepoRef, RepoType, safe_relpath, unsafe_reason
from kuaidi.model.route import FileJob, Origin, Route, RouteKind, origin_of
from kuaidi.model.seams import Placement, Source, Target

__all__ = [
    "FileJob",
    "Listing",
    "Origin",
    "Placement",
    "RemoteFile",
    "RepoRef",
    "RepoType",
    "Route",
    "RouteKind",
    "Source",
    "Target",
    "origin_of",
    "safe_relpath",
    "unsafe_reason",
]
