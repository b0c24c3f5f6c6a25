"""What kuaidi knows about each GPU-cloud platform, as data (platforms.md §1-§2).

Facts marked "unconfirmed" in the reference stay marked in the warnings shown to the user, so
nobody mistakes a third-party note for a platform promise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Storage:
    """One storage tier of a platform and what survives on it."""

    path: str  # absolute path on the box (interpreted under the detection root)
    role: str  # "system" | "data" | "network" | "public"
    survives: str  # one line: what happens to it on shutdown / release / image save


@dataclass(frozen=True)
class Profile:
    """Detection signals and disks of one platform."""

    name: str
    display: str
    env_vars: tuple[str, ...] = ()  # any one present is a strong signal
    markers_any: tuple[str, ...] = ()  # each existing path counts as a signal
    markers_all: tuple[str, ...] = ()  # must all exist to count (one combined signal)
    hostname_prefixes: tuple[str, ...] = ()
    data_disks: tuple[str, ...] = ()  # first existing wins; first one when none exists
    storage: tuple[Storage, ...] = ()
    warnings: tuple[str, ...] = ()
    proxy_kind: str | None = None  # "network_turbo" (parse a file) | "static" (known URL)
    proxy_source: str | None = None  # file for network_turbo
    proxy_url: str | None = None  # URL for static
    proxy_note: str = ""


PROFILES: tuple[Profile, ...] = (
    Profile(
        name="autodl",
        display="AutoDL",
        env_vars=(
            "AutoDLContainerUUID",
            "AutoDLDeploymentUUID",
            "AutoDLDataCenter",
            "AutoDLRegion",
            "AutoDLServiceURL",
        ),
        markers_any=(
            "/etc/network_turbo",
            "/root/autodl-tmp",
            "/root/autodl-fs",
            "/root/autodl-pub",
            "/autodl-pub",
        ),
        hostname_prefixes=("autodl-container-",),
        data_disks=("/root/autodl-tmp",),
        storage=(
            Storage("/", "system", "30 GB; survives shutdown and is saved into images"),
            Storage(
                "/root/autodl-tmp",
                "data",
                "survives shutdown; NOT saved into images or carried over on migration",
            ),
            Storage(
                "/root/autodl-fs",
                "network",
                "the only tier that survives release; region-locked (~200K inode cap, unconfirmed)",
            ),
        ),
        warnings=(
            "instances shut down for 15 days are released: / and /root/autodl-tmp are deleted "
            "(unconfirmed); copy results to /root/autodl-fs",
            "the 30 GB system disk cannot hold a 20 GB model: caches go to /root/autodl-tmp",
        ),
        proxy_kind="network_turbo",
        proxy_source="/etc/network_turbo",
        proxy_note="academic proxy for github.com / huggingface.co only; its no_proxy misses "
        "the domestic mirrors, kuaidi's turbo_on adds them",
    ),
    Profile(
        name="gpushare",
        display="恒源云 GPUShare",
        markers_any=("/hy-tmp", "/hy-nas", "/hy-public"),
        hostname_prefixes=(),
        data_disks=("/hy-tmp",),
        storage=(
            Storage("/", "system", "resets to the image on restart (unconfirmed)"),
            Storage("/hy-tmp", "data", "kept only 24 h after shutdown, wiped on migration"),
            Storage("/hy-nas", "network", "paid shared storage; survives release"),
            Storage("/hy-public", "public", "read-only datasets"),
        ),
        warnings=(
            "/hy-tmp is cleaned 24 h after shutdown: move results to /hy-nas or off the box",
            "a full system disk can stop the instance from booting (unconfirmed)",
        ),
        proxy_kind="static",
        proxy_url="http://turbo.gpushare.com:30000",
        proxy_note="allows only GitHub, HF, pytorch.org and Kaggle (unconfirmed)",
    ),
    Profile(
        name="matpool",
        display="矩池云 Matpool",
        markers_all=("/mnt", "/root/miniconda3/envs/myconda"),
        data_disks=("/mnt",),
        storage=(
            Storage("/", "system", "saved by 保存环境 snapshots"),
            Storage("/mnt", "network", "survives release, region-scoped, 5 GB free tier"),
        ),
        warnings=(
            "/mnt is a 5 GB network disk on the free tier: check its quota before large models",
            "matools' switch scripts write ~/.pip/pip.conf with trusted-host and a .condarc "
            "with channel_alias (run kuaidi doctor)",
        ),
    ),
    Profile(
        name="featurize",
        display="Featurize",
        markers_any=("/home/featurize/work", "/home/featurize/data", "/cloud"),
        data_disks=("/home/featurize/data",),
        storage=(
            Storage("/", "system", "anything outside home resets on restart"),
            Storage("/home/featurize/data", "data", "fast; lost when the instance is returned"),
            Storage(
                "/home/featurize/work",
                "network",
                "cloud-synced, the only thing kept after return; slow for many small files",
            ),
        ),
        warnings=("only /home/featurize/work survives returning the instance",),
    ),
    Profile(
        name="openbayes",
        display="OpenBayes",
        env_vars=("OPENBAYES_JOB_URL", "OPENBAYES_TOKEN", "OPENBAYES_SERVING_PRODUCTION"),
        markers_any=("/openbayes/home", "/openbayes/input", "/hyperai/home"),
        data_disks=("/openbayes/home", "/hyperai/home"),
        storage=(
            Storage("/", "system", "installs outside the working directory are lost on restart"),
            Storage("/openbayes/home", "data", "saved when a run closes; counts against quota"),
        ),
        warnings=("caches count against the OpenBayes storage quota",),
    ),
    Profile(
        name="lanrui",
        display="揽睿星舟 LanRui",
        markers_any=(
            "/home/user/datadisk",
            "/home/user/imported_models",
            "/home/user/netdisk/data",
        ),
        data_disks=("/home/user/datadisk",),
        storage=(
            Storage("/home/user/datadisk", "data", "kept (and billed) while stopped"),
            Storage("/home/user/netdisk/data", "network", "shared by workspaces in one zone"),
        ),
        warnings=("profile is unconfirmed: check the data disk with df before large models",),
    ),
    Profile(
        name="luchen",
        display="潞晨云 Luchen",
        markers_any=("/root/dataDisk", "/root/commonData"),
        data_disks=("/root/dataDisk",),
        storage=(
            Storage("/root/dataDisk", "data", "where models and data must go (small system disk)"),
            Storage("/root/commonData", "public", "public data, when enabled"),
        ),
        warnings=("profile is unconfirmed: check the data disk with df before large models",),
    ),
)

BARE = Profile(
    name="bare",
    display="bare box",
    storage=(Storage("/", "system", "a plain machine: kuaidi measures, nothing is assumed"),),
)

ALL_PROFILES: tuple[Profile, ...] = (*PROFILES, BARE)


def profile(name: str) -> Profile | None:
    """The profile called ``name`` (case-insensitive), or None."""
    return next((p for p in ALL_PROFILES if p.name == name.lower()), None)
