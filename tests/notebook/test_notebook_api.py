"""kuaidi's own downloads in a real kernel: a progress bar in the notebook, typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import kuaidi
from kuaidi.sim import faults as F
from tests.get.conftest import expected
from tests.notebook.conftest import cell_json, kernel, run_cell

TINY = "kuaidi-sim/tiny-model"


def test_a_download_in_a_notebook_shows_a_tqdm_bar(make_sim, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    code = (
        "import json, kuaidi\n"
        f"path = kuaidi.hf_hub_download({TINY!r}, 'model.safetensors', "
        f"endpoint={sim.url('hf-mirror')!r}, cache_dir={str(tmp_path / 'c')!r}, "
        "modelscope_endpoint='none')\n"
    )
    with kernel(home, tmp_path) as client:
        _, stderr = run_cell(client, code)
        path = cell_json(client, "print(json.dumps(path))")
    assert Path(path).read_bytes() == expected(sim, TINY)["model.safetensors"]
    # tqdm.auto: a widget with ipywidgets, else its text bar on the kernel's stderr
    assert "kuaidi: 100%" in stderr and "B/s" in stderr, stderr


def test_api_errors_are_kuaidis_typed_errors(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    common = {"endpoint": sim.url("hf-mirror"), "modelscope_endpoint": "none", "progress": False}
    with pytest.raises(kuaidi.EntryNotFound, match=r"missing\.txt"):
        kuaidi.hf_hub_download(TINY, "missing.txt", cache_dir=tmp_path, **common)
    bad = make_sim(faults={"hf-cdn": [F.corrupt(offset=5, path="*/model.safetensors")]})
    with pytest.raises(kuaidi.KuaidiError, match=r"model\.safetensors") as info:
        kuaidi.hf_hub_download(
            TINY,
            "model.safetensors",
            cache_dir=tmp_path / "b",
            **common | {"endpoint": bad.url("hf-mirror")},
        )
    assert info.value.exit_code == 1
