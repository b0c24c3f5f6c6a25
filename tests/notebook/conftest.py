"""Fixtures for the notebook tests: the sim (shared with tests/get) and real IPython kernels."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.get.conftest import make_sim, sim_catalog  # noqa: F401 (fixtures)

VENV_BIN = Path(sys.executable).parent
KUAIDI = VENV_BIN / "kuaidi"


def kernel_env(home: Path) -> dict[str, str]:
    """What a platform's Jupyter server hands its kernels: HOME and PATH, none of kuaidi's."""
    return {"HOME": str(home), "PATH": f"{VENV_BIN}:/usr/bin:/bin", "LANG": "C.UTF-8"}


@contextmanager
def kernel(home: Path, workdir: Path, spec_dir: Path | None = None) -> Iterator[Any]:
    """A real ipykernel started by jupyter_client the way a Jupyter server starts one: the
    default ``python3`` kernel, or the one kernel spec in ``spec_dir``."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    kw: dict[str, Any] = {"kernel_name": "python3"}
    if spec_dir is not None:
        kw = {
            "kernel_name": spec_dir.name,
            "kernel_spec_manager": KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]),
        }
    km = KernelManager(connection_file=str(workdir / "kernel.json"), **kw)
    km.start_kernel(env=kernel_env(home), cwd=str(workdir))
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield client
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def run_cell(client: Any, code: str) -> tuple[str, str]:
    """Execute one cell; its (stdout, stderr) text. Fails the test on an error in the cell."""
    out: dict[str, list[str]] = {"stdout": [], "stderr": []}
    errors: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out[content["name"]].append(content["text"])
        elif kind == "error":
            errors.append("\n".join(content["traceback"]))

    reply = client.execute_interactive(code, timeout=120, output_hook=hook)
    assert reply["content"]["status"] == "ok", "\n".join(errors)
    return "".join(out["stdout"]), "".join(out["stderr"])


def cell_json(client: Any, code: str) -> Any:
    """Run a cell whose last stdout line is JSON."""
    stdout, _ = run_cell(client, code)
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path
