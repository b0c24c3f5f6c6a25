"""kuaidi (快递): deliver code, packages and model weights onto GPU boxes in mainland China.

Layers, each a package with one job (docs/architecture.md draws which may import which):

- ``kuaidi.model``     the shared vocabulary: RepoRef, RemoteFile, Listing, Route, Source, Target
- ``kuaidi.sim``       the simulated China network (HF / ModelScope / PyPI servers, faults)
- ``kuaidi.net``       HTTP clients, per-host proxy scope, no_proxy semantics
- ``kuaidi.sources``   where bytes come from (HF-protocol mirrors, ModelScope, origin)
- ``kuaidi.transfer``  the segmented engine: scheduling, resume journal, watchdog, verification
- ``kuaidi.store``     the Hugging Face cache layout and local dirs
- ``kuaidi.setup``     one writer per config file (pip, uv, conda, env file)
- ``kuaidi.platforms`` AutoDL, 恒源云, 矩池云, Featurize, OpenBayes, … detection and disks
- ``kuaidi.probe``     measure mirrors
- ``kuaidi.doctor``    find the known traps
- ``kuaidi.cli``       a thin command line over all of the above

The Python API (:mod:`kuaidi.api`), imported on first use so ``import kuaidi`` stays light::

    import kuaidi
    kuaidi.activate()                                   # before huggingface_hub is imported
    path = kuaidi.snapshot_download("Qwen/Qwen2.5-0.5B")
"""

from typing import Any

from kuaidi.errors import (
    ConfigError,
    DiskFull,
    EntryNotFound,
    GatedRepo,
    HubAnswer,
    Interrupted,
    KuaidiError,
    KuaidiWarning,
    PathError,
    RepoNotFound,
    RevisionNotFound,
    SourceUnavailable,
    TokenRejected,
    UnsafeListing,
    UsageError,
    VerificationFailed,
)

__version__ = "0.1.0"
__all__ = [
    "ConfigError",
    "DiskFull",
    "EntryNotFound",
    "GatedRepo",
    "HubAnswer",
    "Interrupted",
    "KuaidiError",
    "KuaidiWarning",
    "PathError",
    "RepoNotFound",
    "RevisionNotFound",
    "SourceUnavailable",
    "TokenRejected",
    "UnsafeListing",
    "UsageError",
    "VerificationFailed",
    "__version__",
    "activate",
    "hf_hub_download",
    "snapshot_download",
]
_API = ("activate", "hf_hub_download", "snapshot_download")


def __getattr__(name: str) -> Any:
    if name in _API:
        from kuaidi import api

        return getattr(api, name)
    raise AttributeError(f"module 'kuaidi' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
