"""Shared test fixtures; layer-specific ones live in each layer's own conftest."""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str) -> str:
    """Path of a system binary the test drives as a real peer; skip (fail in CI) when missing."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/bin/{name}", f"/usr/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        message = f"{name} is not installed (make system-deps installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def _fresh_host_gates() -> None:
    """The HTTP policy's per-host backoff is process-wide (as in a real run); a test must not
    inherit the backoff another test's failing mock host left behind."""
    try:
        from kuaidi.net.policy import default_policy
    except ImportError:  # an older tree under test (checking a regression test fails there)
        return
    default_policy().gate.reset()
