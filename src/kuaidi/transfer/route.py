"""Moved to :mod:`kuaidi.model.route` (a Route is vocabulary shared by sources and the engine)."""

from kuaidi.model import Route  # re-export for in-flight branches; remove after merge

__all__ = ["Route"]
