"""Fixtures for the sim's own tests (shared ones come from tests.simfixtures)."""

from __future__ import annotations

from tests.simfixtures import sim, sim_cache, sim_factory  # noqa: F401
