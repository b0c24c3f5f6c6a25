"""The sim's GitHub content: a bare git repo built with real git, and release assets on disk.

The repo ``kuaidi-sim/hello-pkg`` is an installable Python package whose build backend lives in
the repo itself (PEP 517 ``backend-path``), so ``pip install git+https://github.com/…`` needs no
build dependency from an index; its one runtime dependency, ``kdemo-lib``, comes from the sim's
PyPI mirror (direct, never through the proxy). Everything is built once per cache directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from kuaidi.errors import KuaidiError

OWNER, REPO = "kuaidi-sim", "hello-pkg"
_LOCK = threading.Lock()

_BACKEND = '''"""A PEP 517 backend in 30 lines: enough for pip to build this one wheel offline."""
import base64, hashlib, os, zipfile

NAME, VERSION = "hello_pkg", "0.1.0"
META = ("Metadata-Version: 2.1\\nName: hello-pkg\\nVersion: 0.1.0\\n"
        "Requires-Dist: kdemo-lib\\n")


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    here = os.path.dirname(os.path.abspath(__file__))
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    dist = f"{NAME}-{VERSION}.dist-info"
    files = {
        f"{NAME}/__init__.py": open(os.path.join(here, NAME, "__init__.py"), "rb").read(),
        f"{dist}/METADATA": META.encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\n"
        b"Tag: py3-none-any\\n",
    }
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{path},sha256={digest.decode()},{len(data)}")
        record.append(f"{dist}/RECORD,,")
        zf.writestr(f"{dist}/RECORD", "\\n".join(record) + "\\n")
    return name
'''

_FILES = {
    "pyproject.toml": (
        '[build-system]\nrequires = []\nbuild-backend = "tiny_backend"\nbackend-path = ["."]\n'
    ),
    "tiny_backend.py": _BACKEND,
    "hello_pkg/__init__.py": 'def hello() -> str:\n    return "hello from the sim\'s github"\n',
    "README.md": "# hello-pkg\n\nServed by kuaidi's simulated github.com (git http-backend).\n",
}


def git_binary() -> str:
    """The git executable; KuaidiError when git is not installed."""
    found = shutil.which("git")
    if found is None:
        raise KuaidiError("git is not installed", fix="apt-get install git")
    return found


def build_bare_repo(root: Path) -> Path:
    """``root/kuaidi-sim/hello-pkg.git`` (built with real git the first time; reused after)."""
    bare = root / OWNER / f"{REPO}.git"
    with _LOCK:
        if (bare / "HEAD").is_file():
            return bare
        git = git_binary()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "kuaidi sim",
            "GIT_AUTHOR_EMAIL": "sim@kuaidi.invalid",
            "GIT_COMMITTER_NAME": "kuaidi sim",
            "GIT_COMMITTER_EMAIL": "sim@kuaidi.invalid",
            "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
            "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        }
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            work = Path(tmp) / "work"
            for rel, text in _FILES.items():
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                (work / rel).write_text(text)
            for args in (
                ["init", "-q", "-b", "main", str(work)],
                ["-C", str(work), "add", "-A"],
                ["-C", str(work), "commit", "-q", "-m", "hello-pkg 0.1.0"],
                ["-C", str(work), "tag", "v0.1.0"],
                ["clone", "-q", "--bare", str(work), str(Path(tmp) / "bare.git")],
            ):
                subprocess.run([git, *args], env=env, check=True, capture_output=True, timeout=60)
            bare.parent.mkdir(parents=True, exist_ok=True)
            os.replace(Path(tmp) / "bare.git", bare)
    return bare


@dataclass(frozen=True)
class Asset:
    """One release asset: bytes on disk and their digest."""

    owner: str
    repo: str
    tag: str
    name: str
    size: int
    path: Path
    sha256: str
    asset_id: int

    @property
    def etag(self) -> str:
        return f'"{self.sha256[:32]}"'  # strong: quoted, no W/


def make_asset(root: Path, owner: str, repo: str, tag: str, name: str, size: int) -> Asset:
    """Deterministic bytes for one asset (generated once; a sidecar keeps the digest)."""
    key = hashlib.sha256(f"gh-asset|{owner}/{repo}|{tag}|{name}|{size}".encode()).hexdigest()
    path = root / "assets" / key
    side = path.with_suffix(".json")
    with _LOCK:
        meta = None
        if path.is_file() and path.stat().st_size == size and side.is_file():
            meta = json.loads(side.read_text())
        if meta is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            rng = random.Random(key)
            digest = hashlib.sha256()
            tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                left = size
                while left > 0:
                    chunk = rng.randbytes(min(4 << 20, left))
                    digest.update(chunk)
                    fh.write(chunk)
                    left -= len(chunk)
            os.replace(tmp, path)
            meta = {"sha256": digest.hexdigest()}
            side.write_text(json.dumps(meta))
    return Asset(owner, repo, tag, name, size, path, meta["sha256"], int(key[:7], 16))
