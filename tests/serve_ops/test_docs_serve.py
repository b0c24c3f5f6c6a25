"""docs/serve.md: its systemd unit passes `systemd-analyze verify`; its metric names are real."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kuaidi.serve.stats import ServeStats

DOC = Path(__file__).resolve().parents[2] / "docs" / "serve.md"
DOC_KUAIDI = "/opt/kuaidi/bin/kuaidi"


def unit_text() -> str:
    blocks = re.findall(r"```ini\n(.*?)```", DOC.read_text(), flags=re.S)
    (unit,) = [b for b in blocks if b.startswith("[Unit]")]
    return unit


def test_unit_shape() -> None:
    unit = unit_text()
    assert f"ExecStart={DOC_KUAIDI} serve " in unit
    assert "--token" not in unit  # a token belongs in the EnvironmentFile, never the unit
    assert "WantedBy=multi-user.target" in unit


def _verify(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "kuaidi-serve.service"
    unit.write_text(text)
    out = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    # Only lines naming the unit file are about the unit (not about the host it runs on).
    return out.returncode, [line for line in out.stderr.splitlines() if unit.name in line]


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    kuaidi = Path(sys.executable).parent / "kuaidi"
    assert kuaidi.exists()
    assert _verify(tmp_path, unit_text().replace(DOC_KUAIDI, str(kuaidi))) == (0, [])


def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    kuaidi = Path(sys.executable).parent / "kuaidi"
    broken = unit_text().replace(DOC_KUAIDI, str(kuaidi)).replace("Type=exec", "Type=bogus")
    _code, lines = _verify(tmp_path, broken)
    assert any("service type" in line for line in lines)


def test_documented_metrics_exist() -> None:
    from prometheus_client import generate_latest

    stats = ServeStats()
    stats.served("o/m", 1, hit=True)
    stats.served("o/m", 1, hit=False)
    stats.request(200)
    fill = stats.fill_started("o/m", "f", 1)
    fill.finished(True)
    text = generate_latest(stats.registry).decode()
    documented = set(re.findall(r"`(kuaidi_serve_[a-z_]+)", DOC.read_text()))
    assert documented
    for name in documented:
        assert re.search(rf"^{name}[{{ ]", text, flags=re.M), name
