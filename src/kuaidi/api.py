"""The Python API: set up this process like ``kuaidi setup``, and drop-in download functions.

::

    import kuaidi

    kuaidi.activate()  # best first; after `import transformers` it repairs huggingface_hub
    path = kuaidi.snapshot_download("Qwen/Qwen2.5-0.5B", allow_patterns=["*.json", "*.safetensors"])
    config = kuaidi.hf_hub_download("Qwen/Qwen2.5-0.5B", "config.json")

``activate`` exports what ``kuaidi env`` prints (HF_ENDPOINT, Xet and hf_transfer off, caches on
the platform's data disk) into ``os.environ``, keeping any value you already set, and repairs a
huggingface_hub imported before (:mod:`kuaidi.hubrepair`). The download functions take
huggingface_hub's argument names and return the same paths, through kuaidi's route ladder and
segmented, resumable, verified engine (:func:`kuaidi.get.download`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import os
import sys
import threading
import warnings
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

from kuaidi.errors import KuaidiError
from kuaidi.transfer.progress import Events


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

    Args:
        hf: a catalog name or URL for the HF mirror (default hf-mirror.com).
        data_disk: where caches go (default: the platform's data disk, as ``kuaidi setup``).
        platform: skip platform detection (``autodl``, ``featurize``, …).
        override: replace variables already set (default: a value you set is kept).
        root: read the box under this root (a fake tree in tests).
        environ: fill this mapping instead of ``os.environ`` (this process's huggingface_hub
            is then left alone).

    Returns:
        The variables it set, name → value (those already set and kept are not in it).

    Raises:
        KuaidiError (ConfigError, UsageError): a bad mirror name, platform or disk. Everything
        is worked out first: when it raises, nothing was changed, ``os.environ`` included.

    When huggingface_hub was imported before (the import-time trap: ``import transformers`` in
    an earlier cell), it is repaired in place — its endpoint, URL template, Xet / hf_transfer
    switches, cache paths and module-level clients (:mod:`kuaidi.hubrepair`) — so plain
    ``hf_hub_download`` / ``from_pretrained`` use the mirror from then on; one warning names what
    changed and any client object built before that it could not repair.

    Example::

        import kuaidi
        kuaidi.activate(hf="hf-mirror")   # {'HF_ENDPOINT': 'https://hf-mirror.com', …}
    """
    from kuaidi import hubrepair
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
    changed = {
        name: value
        for name, value in exports(resolve(options)).items()
        if override or not env.get(name)
    }
    # Another mapping describes another environment: this process's hub is not its to repair.
    repair = hubrepair.plan({**env, **changed}, sys.modules) if environ is None else None
    env.update(changed)
    if repair is not None and not repair.empty:
        hubrepair.apply(repair)
        warnings.warn(repair.message(), RuntimeWarning, stacklevel=2)
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

    Args:
        repo_id, repo_type, revision, cache_dir, local_dir, token, endpoint: as
            huggingface_hub's (``token=False`` sends none; ``endpoint`` default HF_ENDPOINT,
            else hf-mirror.com).
        allow_patterns / ignore_patterns: a glob or a list of globs.
        max_workers: the number of connections shared by all files.
        **options: :func:`kuaidi.get.download`'s ``force_download``, ``dry_run``, ``client``;
            :class:`kuaidi.get.SourceOptions`' names (``proxy``, ``modelscope_endpoint``,
            ``source``, …) and :func:`kuaidi.get.engine_options`' (``connections``,
            ``stall_timeout``, …); ``progress=False`` hides the bar (shown in a notebook and
            on a terminal).

    Returns:
        The folder's path, as huggingface_hub returns it.

    Raises:
        kuaidi's typed errors (:mod:`kuaidi.errors`): ``RepoNotFound``, ``GatedRepo``, … and,
        for a file not delivered, the class that names why (``VerificationFailed``,
        ``SourceUnavailable``…). ``TypeError`` for an unknown keyword.

    Example::

        path = kuaidi.snapshot_download("Qwen/Qwen2.5-0.5B", allow_patterns="*.json",
                                        proxy="none", stall_timeout=10)
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
    """huggingface_hub's ``hf_hub_download``, by kuaidi: returns the path of the one file.

    Args:
        repo_id, filename, subfolder, repo_type, revision, cache_dir, local_dir, token,
            endpoint: as huggingface_hub's.
        **options: as :func:`snapshot_download`'s.

    Returns:
        The file's path in the snapshot (or local) dir.

    Raises:
        As :func:`snapshot_download`; ``EntryNotFound`` when the repo has no such file.

    Example::

        config = kuaidi.hf_hub_download("Qwen/Qwen2.5-0.5B", "config.json")
    """
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


def _configs(options: dict[str, Any]) -> dict[str, Any]:
    """huggingface_hub-style flat keywords (``connections=16, proxy=…``) as the config objects
    :func:`kuaidi.get.download` takes; the rest pass through (an unknown one is a TypeError)."""
    from kuaidi.get import SourceOptions, engine_options

    rest = dict(options)
    names = {f.name for f in dataclasses.fields(SourceOptions)}
    sources = SourceOptions(**{k: rest.pop(k) for k in options if k in names})
    names = set(inspect.signature(engine_options).parameters)
    engine = engine_options(**{k: rest.pop(k) for k in options if k in names})
    return {"sources": sources, "engine": engine, **rest}


def _download(
    repo_id: str, files: Sequence[str], *, progress: bool | None = None, **kw: Any
) -> str:
    """Run :func:`kuaidi.get.download` with a progress display; raise a typed error on failure.

    kuaidi's own errors (``RepoNotFound``, ``GatedRepo``, ``DiskFull``…) propagate unchanged; a
    file that was not delivered raises the class its ``FileOutcome.kind`` names.
    """
    from kuaidi import errors
    from kuaidi.get import download

    events = kw.pop("events", None) or _progress(progress)
    try:
        result = download(repo_id, files, events=events, **_configs(kw))
    finally:
        events.close()
    if not result.ok:
        first = result.failed[0]
        kind = getattr(errors, first.kind or "", None)
        typed = isinstance(kind, type) and issubclass(kind, KuaidiError)
        cls: type[KuaidiError] = (
            kind if isinstance(kind, type) and issubclass(kind, KuaidiError) else KuaidiError
        )
        raise cls(
            f"{len(result.failed)} file(s) of {repo_id} not delivered; {first.path}: {first.error}",
            fix="call it again: verified bytes are kept and the rest resumes",
            exit_code=None if typed else 1,
        )
    return result.path


def _progress(progress: bool | None) -> Events:
    """A bar where someone watches: a notebook (tqdm.auto, else rich, else plain lines) or a
    terminal (rich); nothing in logs, or with ``progress=False`` / HF_HUB_DISABLE_PROGRESS_BARS."""
    from kuaidi.transfer.progress import make_progress

    quiet = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS", "").upper() in ("1", "ON", "YES", "TRUE")
    if progress is False or (progress is None and quiet):
        return make_progress("quiet")
    if in_notebook():
        try:
            with warnings.catch_warnings():  # tqdm warns when it falls back to text (no widgets)
                warnings.simplefilter("ignore")
                from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            return TqdmEvents(tqdm)
        if importlib.util.find_spec("ipywidgets") is not None:  # rich's Jupyter display needs it
            return make_progress("rich")
        return make_progress("plain")
    return make_progress("auto" if progress is None else "rich")


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell); never imports IPython itself."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython else None
    return type(shell).__name__ == "ZMQInteractiveShell"


class TqdmEvents(Events):
    """The engine's counters shown as one tqdm bar (a widget in a notebook, text otherwise),
    refreshed from one thread so the engine's workers never touch the display."""

    def __init__(self, tqdm: Any) -> None:
        super().__init__()
        self._bar = tqdm(total=0, unit="B", unit_scale=True, unit_divisor=1024, desc="kuaidi")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._refresh, daemon=True)
        self._thread.start()

    def start(self, total: int, present: int) -> None:
        super().start(total, present)
        self._bar.reset(total=total)

    def _refresh(self) -> None:
        while not self._stop.wait(0.5):
            self._update()

    def _update(self) -> None:
        self._bar.n = self.done_bytes
        self._bar.set_postfix_str(
            f"files {self.active_files} · conns {self.connections} · retries {self.retries}",
            refresh=False,
        )
        self._bar.refresh()

    def file_finished(self, path: str, ok: bool, error: str | None = None) -> None:
        super().file_finished(path, ok, error)
        if not ok:
            self._bar.write(f"kuaidi: {path} FAILED: {error}")

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=2)
        self._update()
        self._bar.close()


def _patterns(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
