from tests.simfixtures import sim_cache, sim_factory  # noqa: F401  (fixtures)
