"""Make docs/serve-status.png: the test's scene, in the same headless chromium.

``.venv/bin/python -m tests.serve_ops.screenshot docs/serve-status.png``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.serve_ops.pageserver import chromium, status_server
from tests.serve_ops.test_status_page import MiB, scene


def main(out: str) -> int:
    with tempfile.TemporaryDirectory() as d:
        stats, info = scene(Path(d) / "hub")
        # The scene's fill got its bytes in one go; give it a plausible five-second history.
        for fill in stats._fills.values():
            fill.samples.clear()
            fill.samples.append((time.monotonic() - 5, fill.done - 110 * MiB))
        with status_server(stats, info) as url:
            chromium("/usr/bin/chromium", url + "/", screenshot=Path(out).resolve())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/serve-status.png"))
