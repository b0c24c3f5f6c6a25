"""The real pip and uv, after kuaidi setup, fetch from a loopback PEP 503 index with no flags.

The index is a static directory served by http.server (pip and uv are the peers under test).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import sys
import threading
import zipfile

import pytest

from kuaidi.setup import apply, plan
from tests.setup.conftest import VENV_BIN, options, run_tool

NAME, VERSION = "kuaidi-probe-pkg", "0.1"
WHEEL = f"kuaidi_probe_pkg-{VERSION}-py3-none-any.whl"


def _wheel() -> bytes:
    dist = f"kuaidi_probe_pkg-{VERSION}.dist-info"
    files = {
        "kuaidi_probe_pkg/__init__.py": b"VALUE = 1\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: kuaidi-test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def index(tmp_path):
    """A PEP 503 simple index on 127.0.0.1; yields (index URL, wheel sha256)."""
    docroot = tmp_path / "index"
    (docroot / "simple" / NAME).mkdir(parents=True)
    (docroot / "files").mkdir()
    data = _wheel()
    (docroot / "files" / WHEEL).write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    (docroot / "simple" / "index.html").write_text(f'<a href="{NAME}/">{NAME}</a>\n')
    (docroot / "simple" / NAME / "index.html").write_text(
        f'<a href="../../files/{WHEEL}#sha256={sha}">{WHEEL}</a>\n'
    )

    def handler(*a, **kw):
        return _Quiet(*a, directory=str(docroot), **kw)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple", sha
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_real_pip_uses_the_mirror_with_no_flags(home, autodl, index, tmp_path):
    url, sha = index
    apply(plan(options(home, autodl, pypi=url, only=frozenset({"pip"}))))
    listed = run_tool([sys.executable, "-m", "pip", "config", "list"], home, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"global.index-url='{url}'" in listed.stdout.splitlines()
    dest = tmp_path / "dl"
    got = run_tool(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest), NAME],
        home,
        tmp_path,
    )
    assert got.returncode == 0, got.stdout + got.stderr
    assert f"Looking in indexes: {url}" in got.stdout
    assert hashlib.sha256((dest / WHEEL).read_bytes()).hexdigest() == sha


def test_real_uv_uses_the_mirror_with_no_flags(home, autodl, index, tmp_path):
    url, _ = index
    apply(plan(options(home, autodl, pypi=url, only=frozenset({"uv"}))))
    run = run_tool(
        [
            str(VENV_BIN / "uv"),
            "pip",
            "install",
            "--dry-run",
            "--python",
            str(VENV_BIN / "python"),
            NAME,
        ],
        home,
        tmp_path,
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
    )
    assert run.returncode == 0, run.stderr
    # The package exists only on the loopback index, so resolving it proves uv.toml was used.
    assert f"+ {NAME}=={VERSION}" in run.stderr
