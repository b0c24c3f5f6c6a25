"""A fake box for the doctor: a root tree (AutoDL or bare), HOME inside it, a dict environment
and a fake statvfs, so every check sees exactly what the test wrote."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from kuaidi.doctor import Context, run
from tests.platforms.fake_trees import make_tree

GiB = 1024**3


def plenty(path: str) -> SimpleNamespace:
    """A statvfs result with 500 GiB and 10M inodes free."""
    return SimpleNamespace(
        f_bavail=500 * GiB // 4096,
        f_frsize=4096,
        f_blocks=1000 * GiB // 4096,
        f_files=20_000_000,
        f_favail=10_000_000,
    )


@dataclass
class Box:
    root: Path
    home: Path
    environ: dict[str, str] = field(default_factory=dict)
    statvfs: object = plenty

    def write(self, rel: str, text: str) -> Path:
        """Write a file under HOME (``~/x``) or the root (``/etc/x``)."""
        path = self.home / rel[2:] if rel.startswith("~/") else self.root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def context(self, **kw: object) -> Context:
        return Context(
            environ=dict(self.environ),
            home=self.home,
            root=self.root,
            offline=bool(kw.pop("offline", True)),
            statvfs=kw.pop("statvfs", self.statvfs),  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )

    def findings(self, check_id: str, **kw: object) -> list:
        report = run(self.context(**kw), only=[check_id])
        assert not report.crashed, report.crashed
        return [f for f in report.findings if f.check_id == check_id]

    def data(self) -> Path:
        return self.root / "root/autodl-tmp"

    def good_env(self) -> None:
        """Everything kuaidi setup would export on this box (caches on the data disk)."""
        d = self.data()
        self.environ.update(
            {
                "HF_ENDPOINT": "https://hf-mirror.com",
                "HF_HUB_DISABLE_XET": "1",
                "HF_HUB_ENABLE_HF_TRANSFER": "0",
                "HF_HOME": f"{d}/hf",
                "MODELSCOPE_CACHE": f"{d}/modelscope",
                "TORCH_HOME": f"{d}/torch",
                "PIP_CACHE_DIR": f"{d}/pip",
                "UV_CACHE_DIR": f"{d}/uv",
                "CONDA_PKGS_DIRS": f"{d}/conda/pkgs",
            }
        )
        self.write(
            "~/.config/pip/pip.conf",
            "[global]\nindex-url = https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple\n",
        )
        self.write(
            "~/.config/uv/uv.toml",
            '[[index]]\nurl = "https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple"\n'
            "default = true\n",
        )
        # GitHub alone through the box's turbo proxy (kuaidi setup's git writer)
        self.write(
            "~/.gitconfig", '[http "https://github.com/"]\n\tproxy = http://172.31.1.128:12798\n'
        )


@pytest.fixture
def autodl(tmp_path: Path) -> Box:
    """A fake AutoDL box: /root/autodl-tmp, /etc/network_turbo, HOME=/root."""
    root = tmp_path / "box"
    make_tree(root, "autodl")
    home = root / "root"
    home.mkdir(parents=True, exist_ok=True)
    return Box(root, home)


@pytest.fixture
def bare(tmp_path: Path) -> Box:
    """A bare box: no platform markers, no data disk."""
    root = tmp_path / "bare"
    home = root / "home/me"
    home.mkdir(parents=True)
    return Box(root, home)


def base_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
