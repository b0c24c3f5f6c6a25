"""Benchmarks (``make bench``): speed and memory, side by side with the peers.

Each module ``bench/<name>.py`` exposes ``run(out: pathlib.Path) -> str`` that measures, writes
raw results under ``out`` and returns a Markdown section; ``python -m bench [name …]`` runs them
and prints the sections, which go into docs/benchmarks.md. Tests never assert timings.
"""
