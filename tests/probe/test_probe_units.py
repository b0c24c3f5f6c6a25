"""Feeds, candidates, the CLI (--json, --apply through kuaidi setup, exit status)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kuaidi.cli import main
from kuaidi.errors import KuaidiError
from kuaidi.probe import from_catalog, parse_candidate, probe
from kuaidi.probe.freshness import parse_mirrorz, parse_tunasync, version_key
from kuaidi.probe.targets import PypiTarget, dist_version

NOW = 1_800_000_000


def test_tunasync_feed() -> None:
    doc = [
        {"name": "pypi", "status": "success", "last_update_ts": NOW - 300},
        {"name": "anaconda", "status": "failed", "last_update_ts": NOW - 3 * 86400},
    ]
    pypi = parse_tunasync(doc, "pypi")
    assert pypi.state == "success" and not pypi.stale(NOW)
    conda = parse_tunasync(doc, "anaconda")
    assert conda.state == "failed" and conda.stale(NOW) and conda.age(NOW) == 3 * 86400
    assert parse_tunasync(doc, "nope") is None and parse_tunasync({"x": 1}, "pypi") is None


def test_mirrorz_feed() -> None:
    doc = {
        "mirrors": [
            {"cname": "pypi", "status": f"S{NOW - 600}X{NOW + 600}"},
            {"cname": "anaconda", "status": f"F{NOW - 100}O{NOW - 5 * 86400}"},
            {"cname": "ubuntu", "status": "C"},
        ]
    }
    assert parse_mirrorz(doc, "pypi").state == "success"
    assert not parse_mirrorz(doc, "pypi").stale(NOW)
    failed = parse_mirrorz(doc, "anaconda")
    assert failed.state == "failed" and failed.last_success == NOW - 5 * 86400 and failed.stale(NOW)
    cache = parse_mirrorz(doc, "ubuntu")
    assert cache.state == "cache" and cache.last_success is None and not cache.stale(NOW)


def test_versions() -> None:
    assert dist_version("pip-25.1-py3-none-any.whl") == "25.1"
    assert dist_version("numpy-2.1.0.tar.gz") == "2.1.0"
    assert version_key("1.10.0") > version_key("1.9.2")
    assert version_key("2.0.0rc1") < version_key("2.0.0")


def test_pep503_html_page_is_read() -> None:
    body = (
        b'<html><body><a href="../../packages/aa/pip-25.0-py3-none-any.whl#sha256=1">'
        b"pip-25.0-py3-none-any.whl</a>"
        b'<a href="../../packages/bb/pip-25.1.tar.gz">pip-25.1.tar.gz</a>'
        b"</body></html>"
    )
    seen = PypiTarget("pip").inspect(
        "https://m.example.cn/simple/pip/", {"content-type": "text/html"}, body
    )
    assert seen.problem is None and seen.version == "25.1"
    assert seen.artifact == "https://m.example.cn/packages/aa/pip-25.0-py3-none-any.whl"


def test_captive_portal_is_not_an_index() -> None:
    seen = PypiTarget("pip").inspect(
        "http://x/simple/pip/", {"content-type": "text/html"}, b"<html>login</html>"
    )
    assert seen.problem and "not a package index" in seen.problem


def test_candidates() -> None:
    names = [c.name for c in from_catalog("pypi")]
    assert "tuna" in names and "aliyun" in names
    tuna = next(c for c in from_catalog("pypi") if c.name == "tuna")
    assert tuna.status_format == "tunasync" and tuna.catalog
    lan = parse_candidate("lan=http://10.0.0.5:3141/simple/", "pypi")
    assert lan.url == "http://10.0.0.5:3141/simple" and lan.host == "10.0.0.5:3141"
    assert lan.status_url == "http://10.0.0.5:3141/static/tunasync.json"
    assert parse_candidate("http://127.0.0.1:8/x", "conda").name == "127.0.0.1:8"
    with pytest.raises(KuaidiError):
        parse_candidate("tuna=ftp://x", "pypi")
    with pytest.raises(KuaidiError):
        probe("npm")


def _args(sim) -> list[str]:
    return [
        "--package", "kdemo-lib", "--bytes", "64KiB", "--rounds", "1", "--timeout", "15",
        "--candidate", f"tuna={sim.url('pypi-tuna')}/simple",
        "--candidate", "down=http://127.0.0.1:9/simple",
    ]  # fmt: skip


def test_cli_json(sim_factory, capsys) -> None:
    sim = sim_factory("clean", hosts=["pypi-tuna"])
    code = main(["probe", "pypi", "--json", *_args(sim)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["version"] == 1 and list(doc) == sorted(doc)
    (target,) = doc["targets"]
    assert target["kind"] == "pypi" and target["winner"] == "tuna"
    assert [c["verdict"] for c in target["candidates"]] == ["ok", "down"]
    assert set(target["candidates"][0]) == {
        "catalog", "failed_rounds", "name", "notes", "reason", "rounds", "served_by", "sync",
        "throughput_bps", "throughput_note", "throughput_steady", "ttfb_ms", "url", "verdict",
        "version",
    }  # fmt: skip
    documented = (Path(__file__).parents[2] / "docs/probe.md").read_text()
    keys = ("throughput_bps", "throughput_steady", "throughput_note", "ttfb_ms", "served_by")
    for key in (*keys, "verdict", "failed_rounds", "winner"):
        assert f"`{key}`" in documented


def test_cli_apply_writes_through_setup(sim_factory, tmp_path, monkeypatch, capsys) -> None:
    sim = sim_factory("clean", hosts=["pypi-tuna"])
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("PIP_CONFIG_FILE", "XDG_CONFIG_HOME", "UV_CONFIG_FILE", "XDG_STATE_HOME"):
        monkeypatch.delenv(var, raising=False)
    code = main(["probe", "pypi", "--apply", "--root", str(tmp_path / "root"), *_args(sim)])
    out = capsys.readouterr().out
    assert code == 0, out
    pip_conf = (home / ".config/pip/pip.conf").read_text()
    assert f"index-url = {sim.url('pypi-tuna')}/simple" in pip_conf
    assert sim.url("pypi-tuna") in (home / ".config/uv/uv.toml").read_text()
    assert "undo with: kuaidi setup --undo" in out


def test_cli_nothing_usable(capsys) -> None:
    code = main(
        [
            "probe",
            "conda",
            "--rounds",
            "1",
            "--timeout",
            "5",
            "--candidate",
            "x=http://127.0.0.1:9/a",
        ]
    )
    assert code == 1
    assert "no usable conda mirror" in capsys.readouterr().out
    code = main(
        [
            "probe",
            "conda",
            "--apply",
            "--rounds",
            "1",
            "--timeout",
            "5",
            "--candidate",
            "x=http://127.0.0.1:9/a",
        ]
    )
    assert code == 2  # KuaidiError: nothing written


def test_all_targets_side_by_side_in_one_bound(
    sim_factory, conda_host, monkeypatch, capsys
) -> None:
    """`kuaidi probe all`: the four targets run at once, each from its (here: sim) catalog."""
    sim = sim_factory("clean", hosts=["pypi-tuna", "hf-mirror", "hf-cdn", "modelscope"])
    conda = conda_host("conda-a")
    catalog = {
        "pypi": f"tuna={sim.url('pypi-tuna')}/simple",
        "conda": f"a={conda.base_url}/anaconda",
        "hf": f"mirror={sim.url('hf-mirror')}",
        "modelscope": f"ms={sim.url('modelscope')}",
    }
    monkeypatch.setattr("kuaidi.probe.from_catalog", lambda k: [parse_candidate(catalog[k], k)])
    args = ["probe", "all", "--json", "--rounds", "1", "--timeout", "15", "--bytes", "64KiB"]
    code = main([*args, "--package", "kdemo-lib", "--repo", "kuaidi-sim/demo-model"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {t["kind"]: t["winner"] for t in doc["targets"]} == {
        "pypi": "tuna",
        "conda": "a",
        "hf": "mirror",
        "modelscope": "ms",
    }
    assert all(t["elapsed_s"] < 15 + 2.5 for t in doc["targets"])


def test_candidate_needs_one_target(capsys) -> None:
    assert main(["probe", "all", "--candidate", "x=http://127.0.0.1:9/simple"]) == 2
    assert "--candidate needs one target" in capsys.readouterr().err
