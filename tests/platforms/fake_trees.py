"""Fake root trees, one per platform, built from the markers in platforms.md §1."""

from __future__ import annotations

from pathlib import Path

TURBO_NO_PROXY = "localhost,127.0.0.1,modelscope.com,aliyuncs.com,tencentyun.com,wisemodel.cn"
NETWORK_TURBO = f"""export no_proxy={TURBO_NO_PROXY}
export http_proxy=http://172.31.1.128:12798 && export https_proxy=http://172.31.1.128:12798
export REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
echo 设置成功
echo 注意：仅限于学术用途，不承诺稳定性保证
"""

# platform -> (directories, files {path: text}, expected data disk relative to root)
TREES: dict[str, tuple[tuple[str, ...], dict[str, str], str]] = {
    "autodl": (
        ("root/autodl-tmp", "root/autodl-fs", "root/autodl-pub"),
        {"etc/network_turbo": NETWORK_TURBO},
        "root/autodl-tmp",
    ),
    "gpushare": (("hy-tmp", "hy-public", "hy-nas"), {}, "hy-tmp"),
    "matpool": (("mnt", "root/miniconda3/envs/myconda"), {}, "mnt"),
    "featurize": (("home/featurize/work", "home/featurize/data"), {}, "home/featurize/data"),
    "openbayes": (("openbayes/home", "openbayes/input/input0"), {}, "openbayes/home"),
    "lanrui": (("home/user/datadisk", "home/user/imported_models"), {}, "home/user/datadisk"),
    "luchen": (("root/dataDisk", "root/commonData"), {}, "root/dataDisk"),
    # A bare box whose only real data disk is /data (ext4); tmpfs and overlay are not candidates.
    "bare": (
        ("data", "dev/shm", "scratch-tmpfs"),
        {
            "proc/self/mounts": "overlay / overlay rw 0 0\n"
            "proc /proc proc rw 0 0\n"
            "tmpfs /dev/shm tmpfs rw 0 0\n"
            "tmpfs /scratch-tmpfs tmpfs rw 0 0\n"
            "/dev/vdb /data ext4 rw,relatime 0 0\n"
            "/dev/vda /etc/hosts ext4 rw 0 0\n",
            "etc/hosts": "127.0.0.1 localhost\n",
        },
        "data",
    ),
}


def make_tree(root: Path, platform: str) -> Path:
    """Build ``platform``'s fake tree under ``root``; returns the expected data disk."""
    dirs, files, data_disk = TREES[platform]
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root / data_disk
