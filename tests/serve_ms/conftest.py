"""Fixtures for the ModelScope front and gate tests (shared sim ones from tests.simfixtures)."""

from __future__ import annotations

from tests.simfixtures import sim, sim_cache, sim_factory  # noqa: F401
