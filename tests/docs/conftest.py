"""The sim's fixtures for the docs tests."""

from kuaidi.sim.testing import sim_cache, sim_factory  # noqa: F401  (fixtures)
