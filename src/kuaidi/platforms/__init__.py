"""GPU-cloud platform profiles.

AutoDL, 恒源云 GPUShare, 矩池云 Matpool, Featurize, OpenBayes, 揽睿星舟 LanRui, 潞晨云, bare box.

    For example::

        from kuaidi.platforms import detect
        p = detect()                 # the real box
        p.name, p.display, p.data_disk, p.signals
        # ('autodl', 'AutoDL', PosixPath('/root/autodl-tmp'), ('env AutoDLRegion', ...))

Detection reads under ``root`` (a fake tree in tests). ``Platform.proxy`` describes the platform's
academic proxy; ``Platform.warnings`` says what does not survive shutdown / release.
"""

from kuaidi.platforms.detect import Platform, PlatformProxy, detect
from kuaidi.platforms.disks import Mount, candidate_mounts, pick_data_disk
from kuaidi.platforms.profiles import ALL_PROFILES, Profile, Storage, profile

__all__ = [
    "ALL_PROFILES",
    "Mount",
    "Platform",
    "PlatformProxy",
    "Profile",
    "Storage",
    "candidate_mounts",
    "detect",
    "pick_data_disk",
    "profile",
]
