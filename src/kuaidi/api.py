"""The Python API: set up this process like ``kuaidi setup``, and drop-in download functions.

::

    import kuaidi

    kuaidi.activate()  # first thing in train.py / the notebook: before transformers is imported
    path = kuaidi.snapshot_download("Qwen/Qwen2.5-0.5B", allow_patterns=["*.json", "*.safetensors"])
    config = kuaidi.hf_hub_download("Qwen/Qwen2.5-0.5B", "config.json")

``activate`` exports what ``kuaidi env`` prints (HF_ENDPOINT, Xet and hf_transfer off, caches on
the platform's data disk) into ``os.environ``, keeping any value you already set. The download
functions take huggingface_hub's argument names and return the same paths, through kuaidi's
route ladder and segmented, resumable, verified engine (:func:`kuaidi.get.download`).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

from kuaidi.errors import KuaidiError


def activate(
    *,
    hf: str | None = None,
    data_disk: str | Path | None = None,
    platform: str | None = None,
    override: bool = False,
    root: str | Path = "/",
    environ: MutableMapping[str, str] | None = None,
) -> dict[str, str]:
    """Export kuaidi's settings into this process; return the variables it set.

    ``hf``: a catalog name or URL for the HF mirror (default hf-mirror.com); ``data_disk`` /
    ``platform``: as ``kuaidi setup``'s options. A variable already in the environment is kept
    unless ``override``. Raises :class:`KuaidiError` when huggingface_hub was imported before
    and froze another endpoint (the import-time trap: its downloads would ignore the change).
    """
    from kuaidi.doctor.runtime import check_runtime
    from kuaidi.setup import resolve
    from kuaidi.setup.envfile import exports
    from kuaidi.setup.options import SetupOptions

    env = os.environ if environ is None else environ
    options = SetupOptions(
        root=Path(root),
        environ=dict(env),
        hf=hf,
        platform=platform,
        data_disk=Path(data_disk) if data_disk is not None else None,
    )
    changed: dict[str, str] = {}
    for name, value in exports(resolve(options)).items():
        if override or not env.get(name):
            env[name] = value
            changed[name] = value
    for finding in check_runtime(environ=env):
        if finding.severity == "error":
            raise KuaidiError(finding.message, fix=finding.fix)
    return changed


def snapshot_download(
    repo_id: str,
    *,
    repo_type: str | None = None,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_dir: str | Path | None = None,
    allow_patterns: str | Sequence[str] | None = None,
    ignore_patterns: str | Sequence[str] | None = None,
    token: str | bool | None = None,
    endpoint: str | None = None,
    max_workers: int = 8,
    **options: Any,
) -> str:
    """huggingface_hub's ``snapshot_download``, by kuaidi: returns the snapshot (or local) dir.

    ``max_workers`` is the number of connections shared by all files; other keyword options
    go to :func:`kuaidi.get.download` (``connections``, ``stall_timeout``, ``proxy``, ``source``…).
    Raises :class:`KuaidiError` naming the first file that could not be verified.
    """
    options.setdefault("connections", max_workers)
    result = _download(
        repo_id,
        (),
        repo_type=repo_type or "model",
        revision=revision,
        include=_patterns(allow_patterns),
        exclude=_patterns(ignore_patterns),
        cache_dir=cache_dir,
        local_dir=local_dir,
        token=token,
        endpoint=endpoint,
        **options,
    )
    return result


def hf_hub_download(
    repo_id: str,
    filename: str,
    *,
    subfolder: str | None = None,
    repo_type: str | None = None,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_dir: str | Path | None = None,
    token: str | bool | None = None,
    endpoint: str | None = None,
    **options: Any,
) -> str:
    """huggingface_hub's ``hf_hub_download``, by kuaidi: returns the path of the one file."""
    path = f"{subfolder.strip('/')}/{filename}" if subfolder else filename
    folder = _download(
        repo_id,
        (path,),
        repo_type=repo_type or "model",
        revision=revision,
        cache_dir=cache_dir,
        local_dir=local_dir,
        token=token,
        endpoint=endpoint,
        **options,
    )
    return str(Path(folder) / path)


def _download(repo_id: str, files: Sequence[str], **kwargs: Any) -> str:
    from kuaidi.get import download

    result = download(repo_id, files, **kwargs)
    if not result.ok:
        first = result.failed[0]
        raise KuaidiError(
            f"{len(result.failed)} file(s) of {repo_id} not delivered; {first.path}: {first.error}",
            fix="call it again: verified bytes are kept and the rest resumes",
            exit_code=1,
        )
    return result.path


def _patterns(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
