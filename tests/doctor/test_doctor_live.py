"""Live reachability against the sim, the in-process runtime check with the real
huggingface_hub, the CLI (exit status, stable --json) and --fix followed by a clean run in a
fresh login shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kuaidi.cli import main
from kuaidi.doctor import Context, run, to_json
from tests.doctor.conftest import Box
from tests.simfixtures import sim_cache, sim_factory  # noqa: F401  (fixtures)

KUAIDI = str(Path(sys.executable).parent / "kuaidi")
SRC = Path(__file__).parents[2] / "src"


# -- live.reachable -------------------------------------------------------------------------------


def test_live_reachable_clean(bare: Box, sim_factory) -> None:  # noqa: F811
    sim = sim_factory("clean", hosts=["pypi-tuna", "hf-mirror"])
    index = sim.url("pypi-tuna") + "/simple"
    bare.environ.update(
        {"PIP_INDEX_URL": index, "UV_DEFAULT_INDEX": index, "HF_ENDPOINT": sim.url("hf-mirror")}
    )
    assert bare.findings("live.reachable", offline=False) == []


def test_live_down_endpoint(bare: Box, sim_factory) -> None:  # noqa: F811
    sim = sim_factory("clean", hosts=["pypi-tuna"])
    bare.environ.update(
        {
            "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
            "UV_DEFAULT_INDEX": sim.url("pypi-tuna") + "/simple",
        }
    )
    (finding,) = bare.findings("live.reachable", offline=False)
    assert finding.severity == "error"
    assert "pip endpoint 127.0.0.1 does not answer (direct)" in finding.message
    assert finding.evidence[1].startswith("cannot connect")


def test_live_goes_through_the_route_the_client_takes(bare: Box, sim_factory) -> None:  # noqa: F811
    """The mirror is up, but uv would send it to a dead proxy (NO_PROXY lacks it): reported."""
    sim = sim_factory("clean", hosts=["pypi-tuna"])
    index = sim.url("pypi-tuna") + "/simple"
    bare.environ.update(
        {
            "PIP_INDEX_URL": index,
            "UV_DEFAULT_INDEX": index,
            "http_proxy": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "localhost",
        }
    )
    (finding,) = bare.findings("live.reachable", offline=False)
    # issue 11 defect 6: the dead proxy is named, not the mirror behind it
    assert finding.message.startswith("the proxy http://127.0.0.1:9 does not answer")
    assert finding.message.endswith("(uv)") and "kuaidi probe" not in finding.fix
    assert finding.evidence[0] == f"uv: {index}/pip/ via http://127.0.0.1:9"


def test_live_skipped_offline(bare: Box) -> None:
    bare.environ["PIP_INDEX_URL"] = "http://127.0.0.1:9/simple"
    report = run(bare.context(offline=True))
    assert "live.reachable" in report.skipped
    assert not any(f.check_id == "live.reachable" for f in report.findings)


# -- check_runtime, in a real process with the real huggingface_hub --------------------------------

RUNTIME = """
import json, os, sys
{before}
from huggingface_hub import hf_hub_download  # what transformers does at import
{after}
from kuaidi.doctor import check_runtime
print(json.dumps([f.to_dict() for f in check_runtime()]))
"""


def _runtime(before: str, after: str) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE"))}
    out = subprocess.run(
        [sys.executable, "-c", RUNTIME.format(before=before, after=after)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_runtime_endpoint_set_after_import() -> None:
    (finding,) = _runtime("", "os.environ['HF_ENDPOINT'] = 'https://hf-mirror.com'")
    assert finding["check"] == "runtime.endpoint" and finding["severity"] == "error"
    assert "huggingface_hub.constants.ENDPOINT=https://huggingface.co" in finding["evidence"]


def test_runtime_endpoint_set_before_import() -> None:
    assert _runtime("os.environ['HF_ENDPOINT'] = 'https://hf-mirror.com/'", "") == []


def test_runtime_lazy_import_has_not_frozen_anything() -> None:
    """huggingface_hub ≥ 1 loads its constants lazily: a bare import freezes no endpoint yet."""
    code = (
        "import os, huggingface_hub; os.environ['HF_ENDPOINT'] = 'https://hf-mirror.com'\n"
        "from kuaidi.doctor import check_runtime; print(len(check_runtime()))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "0", out.stderr


def test_runtime_with_huggingface_hub_0x() -> None:
    """The same trap with huggingface_hub 0.26 (old venv), imported the way transformers does."""
    import site

    hf0 = os.environ.get("KUAIDI_HF0_PYTHON") or str(
        Path(__file__).parents[2] / ".venv-hf0/bin/python"
    )
    if not Path(hf0).exists():
        pytest.skip("no huggingface_hub 0.x venv (make test creates .venv-hf0)")
    # kuaidi's own dependencies come from the main venv, *after* the old venv's huggingface_hub
    code = (
        f"import sys; sys.path += {[*site.getsitepackages(), str(SRC)]!r}\n"
        "import os, huggingface_hub\n"
        "from huggingface_hub import hf_hub_download\n"
        "assert huggingface_hub.__version__.startswith('0.'), huggingface_hub.__version__\n"
        "os.environ['HF_ENDPOINT'] = 'https://hf-mirror.com'\n"
        "from kuaidi.doctor import check_runtime\n"
        "print([f.check_id for f in check_runtime()])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "PYTHON"))}
    out = subprocess.run([hf0, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "['runtime.endpoint']", out.stderr


def test_runtime_not_imported() -> None:
    from kuaidi.doctor import check_runtime

    assert check_runtime(modules={}, environ={"HF_ENDPOINT": "x"}) == []


# -- CLI, JSON ------------------------------------------------------------


def _cli_env(box: Box, **extra: str) -> dict[str, str]:
    env = {
        "HOME": str(box.home),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }
    env.update(box.environ)
    env.update(extra)
    return env


def _kuaidi(box: Box, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KUAIDI, "doctor", "--root", str(box.root), *args],
        env=env or _cli_env(box),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_json_is_stable_and_documented(autodl: Box) -> None:
    autodl.environ.update({"https_proxy": "http://10.0.0.1:3128", "HF_HUB_ENABLE_HF_TRANSFER": "1"})
    first = to_json(run(autodl.context()), autodl.context())
    second = to_json(run(autodl.context()), autodl.context())
    assert first == second
    doc = json.loads(first)
    assert doc["version"] == 1
    assert list(doc) == sorted(doc)
    assert set(doc) == {
        "checks",
        "crashed",
        "exit_code",
        "findings",
        "kuaidi",
        "offline",
        "platform",
        "summary",
        "version",
    }
    assert set(doc["findings"][0]) == {
        "auto_fix",
        "check",
        "evidence",
        "fix",
        "message",
        "severity",
    }
    assert set(doc["checks"][0]) == {"id", "live", "severity", "status", "title"}
    assert doc["platform"]["name"] == "autodl"
    assert doc["exit_code"] == 1 and doc["summary"]["error"] >= 1
    ranks = [("error", "warning", "info").index(f["severity"]) for f in doc["findings"]]
    assert ranks == sorted(ranks)
    statuses = {c["id"]: c["status"] for c in doc["checks"]}
    assert statuses["live.reachable"] == "skipped" and statuses["hf.transfer"] == "found"
    # the documented schema names every key
    documented = (Path(__file__).parents[2] / "docs/doctor.md").read_text()
    for key in ("version", "findings", "auto_fix", "evidence", "summary", "exit_code", "checks"):
        assert f"`{key}`" in documented


def test_cli_exit_status(autodl: Box) -> None:
    bad = _kuaidi(autodl, "--offline")
    assert bad.returncode == 1, bad.stderr
    assert "ERROR   hf.endpoint" in bad.stdout and "fix:" in bad.stdout
    as_json = _kuaidi(autodl, "--offline", "--json", "--only", "hf.transfer")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["findings"] == []


def test_cli_in_process(autodl: Box, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(autodl.home))
    monkeypatch.setenv("HF_HUB_ENABLE_HF_TRANSFER", "1")
    code = main(
        ["doctor", "--root", str(autodl.root), "--offline", "--json", "--only", "hf.transfer"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and [f["check"] for f in doc["findings"]] == ["hf.transfer"]


# -- --fix, then a clean run in a new login shell ----------------------------------------


def _counts(finding: dict) -> bool:
    """Errors and warnings, minus the free space of the machine running the tests (real
    statvfs through the CLI: not part of the fake box)."""
    return finding["severity"] != "info" and finding["check"] != "disks.free"


def test_fix_then_clean_in_a_new_shell(autodl: Box) -> None:
    """An AutoDL box with the usual traps: HF origin, hf_transfer on, Xet, caches on /, pip and uv
    on PyPI. --fix (via kuaidi setup) repairs them; a new login shell that
    inherited the same bad variables runs doctor clean (exit 0, no error or warning)."""
    autodl.environ.update(
        {"HF_ENDPOINT": "https://huggingface.co", "HF_HUB_ENABLE_HF_TRANSFER": "1"}
    )
    autodl.write("~/.bashrc", "# user rc\nalias ll='ls -l'\n")
    before = json.loads(_kuaidi(autodl, "--offline", "--json").stdout)
    fixable = {f["check"] for f in before["findings"] if f["auto_fix"]}
    assert {
        "hf.endpoint",
        "hf.transfer",
        "disks.cache_location",
        "pip.index",
    } <= fixable
    assert before["exit_code"] == 1

    fixed = _kuaidi(autodl, "--offline", "--fix", "--json")
    doc = json.loads(fixed.stdout)
    assert doc["fix"]["setup"] == "kuaidi setup --only pip,uv,env,shell,git"
    written = {Path(p).name for p in doc["fix"]["written"]}
    assert {"pip.conf", "uv.toml", "env.sh", ".bashrc"} <= written
    assert "alias ll='ls -l'" in (autodl.home / ".bashrc").read_text()  # user lines kept
    # --fix re-checks as a new shell will see it (env file applied): clean already
    assert doc["fix"]["rechecked_as"] == "new-shell"
    assert [f for f in doc["findings"] if _counts(f)] == []

    shell = subprocess.run(
        ["bash", "-lc", f'"{KUAIDI}" doctor --root "{autodl.root}" --offline --json'],
        env=_cli_env(autodl),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=autodl.home,
    )
    after = json.loads(shell.stdout)
    left = [(f["check"], f["severity"]) for f in after["findings"] if _counts(f)]
    assert left == [], shell.stdout
    assert shell.returncode == 0 or any(f["check"] == "disks.free" for f in after["findings"])


def test_fix_with_nothing_fixable(bare: Box) -> None:
    bare.environ.update({"HF_ENDPOINT": "https://hf-mirror.com", "HF_HUB_DISABLE_XET": "1"})
    bare.write("~/.bashrc", "source ~/.bashrc\n")
    ctx = Context(environ=bare.environ, home=bare.home, root=bare.root, offline=True)
    from kuaidi.doctor import fix

    report = run(ctx, only=["shellrc"])
    result = fix(ctx, report)
    assert result.setup is None and result.written == ()
    assert (bare.home / ".bashrc").read_text() == "source ~/.bashrc\n"  # manual fix: untouched


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path):
    """An HTTPS server on loopback whose certificate comes from a private (trustme) CA."""
    import http.server
    import ssl
    import threading

    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    yield f"https://127.0.0.1:{server.server_address[1]}", pem
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_live_tls_failure_is_named(bare: Box, tls_server) -> None:
    url, _ = tls_server
    bare.environ["HF_ENDPOINT"] = url
    found = [
        f for f in bare.findings("live.reachable", offline=False) if "hf endpoint" in f.message
    ]
    (finding,) = found
    assert finding.evidence[1].startswith("TLS failed")


def test_live_tls_ok_with_the_bundle_the_client_uses(bare: Box, tls_server) -> None:
    url, pem = tls_server
    bare.write("/etc/ssl/private-ca.pem", pem.read_text())  # the bundle, as the box sees it
    bare.environ.update({"HF_ENDPOINT": url, "SSL_CERT_FILE": "/etc/ssl/private-ca.pem"})
    found = [
        f for f in bare.findings("live.reachable", offline=False) if "hf endpoint" in f.message
    ]
    assert found == []
