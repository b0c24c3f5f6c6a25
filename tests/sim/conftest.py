"""Fixtures for the sim's own tests (shared ones come from kuaidi.sim.testing)."""

from __future__ import annotations

from kuaidi.sim.testing import sim, sim_cache, sim_factory  # noqa: F401
