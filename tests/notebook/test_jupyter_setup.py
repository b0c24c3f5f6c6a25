"""``kuaidi setup`` gives Jupyter kernels the switchboard: real ipykernel, started by
jupyter_client from an environment with none of kuaidi's variables (a platform's server)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.get.conftest import expected
from tests.notebook.conftest import KUAIDI, cell_json, kernel
from tests.platforms.fake_trees import make_tree
from tests.setup.conftest import clean_env, skel_home, snapshot

TINY = "kuaidi-sim/tiny-model"
STARTUP = ".ipython/profile_default/startup"
NAMES = (
    "HF_ENDPOINT",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_HUB_DISABLE_XET",
    "HF_HUB_ENABLE_HF_TRANSFER",
)
FIRST_CELL = f"""
import json, os, sys
seen = {{name: os.environ.get(name) for name in {NAMES!r}}}
print(json.dumps({{**seen, "kuaidi imported": "kuaidi" in sys.modules, "mine": MINE}}))
"""


def _kuaidi(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUAIDI), *args], env=clean_env(home), capture_output=True, text=True, timeout=60
    )


def _lived_in(home: Path) -> None:
    """Debian's rc files and a startup file of the user's own (kept, and still run)."""
    skel_home(home)
    (home / STARTUP).mkdir(parents=True)
    (home / STARTUP / "50-mine.py").write_text("MINE = 1\n")


def test_a_kernel_has_the_switchboard_before_its_first_cell_and_not_after_undo(  # type: ignore[no-untyped-def]
    make_sim, home: Path, tmp_path: Path
) -> None:
    sim = make_sim()
    mirror = sim.url("hf-mirror")
    root = tmp_path / "autodl"
    disk = make_tree(root, "autodl")
    _lived_in(home)
    before = snapshot(home)
    done = _kuaidi(home, "setup", "--root", str(root), "--hf", mirror)
    assert done.returncode == 0, done.stderr
    assert f"{STARTUP}/00-kuaidi.py" in done.stdout + done.stderr
    with kernel(home, tmp_path) as client:
        seen = cell_json(client, FIRST_CELL)
        path = cell_json(
            client,
            "import json\nfrom huggingface_hub import hf_hub_download\n"
            f"print(json.dumps(hf_hub_download({TINY!r}, 'config.json')))",
        )
    assert seen == {
        "HF_ENDPOINT": mirror,
        "HF_HOME": f"{disk}/hf",
        "HF_HUB_CACHE": f"{disk}/hf/hub",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_ENABLE_HF_TRANSFER": "0",
        "kuaidi imported": False,  # the startup file needs nothing but the standard library
        "mine": 1,
    }
    assert path.startswith(f"{disk}/hf/hub/models--kuaidi-sim--tiny-model/")
    assert Path(path).read_bytes() == expected(sim, TINY)["config.json"]
    assert sim.log("hf-mirror").requests(f"/{TINY}/resolve/*/config.json")

    undone = _kuaidi(home, "setup", "--undo")
    assert undone.returncode == 0, undone.stderr
    with kernel(home, tmp_path) as client:
        seen = cell_json(client, FIRST_CELL)
    assert seen["HF_ENDPOINT"] is None and seen["HF_HOME"] is None and seen["mine"] == 1
    after = snapshot(home)
    # The kernels keep IPython state of their own (history); what was there is byte-identical
    # and nothing of kuaidi's is left.
    assert {name: after.get(name) for name in before} == before
    assert not [name for name in after if "kuaidi" in name]


def test_a_variable_the_kernel_already_has_is_kept(home: Path, tmp_path: Path) -> None:
    """A kernel spec's own ``env`` wins; kuaidi fills in the rest."""
    done = _kuaidi(home, "setup", "--root", str(tmp_path / "bare"), "--only", "env,jupyter")
    assert done.returncode == 0, done.stderr
    spec = home / ".local/share/jupyter/kernels/mine"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    env = {"HF_ENDPOINT": "https://my-mirror.example"}
    kernel_json = {"argv": argv, "display_name": "mine", "language": "python", "env": env}
    (spec / "kernel.json").write_text(json.dumps(kernel_json))
    (home / STARTUP / "50-mine.py").write_text("MINE = 1\n")
    with kernel(home, tmp_path, spec_dir=spec) as client:
        seen = cell_json(client, FIRST_CELL)
    assert seen["HF_ENDPOINT"] == "https://my-mirror.example"
    assert seen["HF_HUB_DISABLE_XET"] == "1"


def test_only_jupyter_dry_run_then_idempotent_then_byte_identical_undo(
    home: Path, tmp_path: Path
) -> None:
    _lived_in(home)
    root = str(tmp_path / "bare")
    before = snapshot(home)
    dry = _kuaidi(home, "setup", "--root", root, "--only", "jupyter", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"+++ {home / STARTUP / '00-kuaidi.py'}" in dry.stdout
    assert snapshot(home) == before  # the whole HOME, bytes and modes
    first = _kuaidi(home, "setup", "--root", root, "--only", "jupyter")
    assert first.returncode == 0, first.stderr
    written = snapshot(home)
    assert set(written) - set(before) >= {f"{STARTUP}/00-kuaidi.py"}
    again = _kuaidi(home, "setup", "--root", root, "--only", "jupyter")
    assert again.returncode == 0 and "nothing changed" in again.stdout + again.stderr
    assert snapshot(home) == written
    undone = _kuaidi(home, "setup", "--undo")
    assert undone.returncode == 0, undone.stderr
    assert snapshot(home) == before


def test_the_startup_file_imports_only_the_standard_library(home: Path, tmp_path: Path) -> None:
    done = _kuaidi(home, "setup", "--root", str(tmp_path / "bare"), "--only", "jupyter")
    assert done.returncode == 0, done.stderr
    tree = ast.parse((home / STARTUP / "00-kuaidi.py").read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported == {"os", "re"}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
