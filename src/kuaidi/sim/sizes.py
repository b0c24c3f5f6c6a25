"""Human sizes for size specs and fault offsets: :mod:`kuaidi.units`, kuaidi's one convention
(binary: 1KB = 1KiB = 1024 bytes, as ML file listings usually mean). Kept as the sim's import
path."""

from __future__ import annotations

from kuaidi.units import format_size, parse_size

__all__ = ["format_size", "parse_size"]
