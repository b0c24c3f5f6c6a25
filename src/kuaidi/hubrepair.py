"""Repair a huggingface_hub that was imported before kuaidi's variables were set.

huggingface_hub reads ``HF_ENDPOINT``, the Xet / hf_transfer switches and the cache paths once,
when ``huggingface_hub.constants`` is first imported, and some modules copy those values at
import (``from .constants import ENDPOINT``; 0.26's ``file_download`` formats its URLs from its
own copy of ``HUGGINGFACE_CO_URL_TEMPLATE``). The module-level ``HfApi`` (``hf_api.api``, behind
``huggingface_hub.model_info`` & co.) and 2.x's ``hffs`` captured the endpoint when built.

:func:`plan` computes, for the environment the process is about to have, what a freshly started
process would hold, and lists every module-level copy that differs — in huggingface_hub and in
the libraries that copy its values the same way (transformers, datasets, …). Nothing is changed
until :func:`apply`. Client objects the user built before cannot be told apart from ones built
with an explicit endpoint, so they are only named (:attr:`Repair.unrepaired`).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from kuaidi.errors import KuaidiError
from kuaidi.model import hfpaths

DEFAULT_ENDPOINT = "https://huggingface.co"
# Libraries that copy huggingface_hub's constants into their own module globals at import.
FAMILY = (
    "huggingface_hub",
    "transformers",
    "datasets",
    "diffusers",
    "peft",
    "sentence_transformers",
    "timm",
    "evaluate",
    "accelerate",
)
SWITCHES = ("HF_HUB_DISABLE_XET", "HF_HUB_ENABLE_HF_TRANSFER")
# Hard-coded to the origin in every release whatever HF_ENDPOINT says: a fresh process keeps it.
_FIXED = frozenset({"HUGGINGFACE_CO_URL_HOME"})
_CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Patch:
    """One value to replace: ``setattr(target, attr, new)``; ``label`` names it for the user."""

    target: Any
    attr: str
    new: Any
    label: str


@dataclass
class Repair:
    """What :func:`apply` will do, and the objects it cannot repair."""

    version: str = "?"
    endpoint: str = ""
    patches: list[Patch] = field(default_factory=list)
    unrepaired: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.patches or self.unrepaired)

    def message(self) -> str:
        """One warning naming everything changed and everything left as it was."""
        text = (
            f"kuaidi.activate: huggingface_hub {self.version} was imported before kuaidi's "
            "variables were set"
        )
        if self.patches:
            text += f"; repaired it in place (downloads now go to {self.endpoint}): "
            text += ", ".join(p.label for p in self.patches)
        if self.unrepaired:
            text += "; NOT repaired (built before, rebuild them or pass endpoint=): " + ", ".join(
                self.unrepaired
            )
        return text


def is_true(value: str | None) -> bool:
    """huggingface_hub's own rule (``constants._is_true``)."""
    return value is not None and value.upper() in ("1", "ON", "YES", "TRUE")


def fresh_values(environ: Mapping[str, str]) -> dict[str, str]:
    """Endpoint and cache paths as huggingface_hub computes them from ``environ`` at import."""
    endpoint = (environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    return {
        "ENDPOINT": endpoint,
        "HF_HOME": hfpaths.hf_home_text(environ),
        "HF_HUB_CACHE": hfpaths.hf_hub_cache_text(environ),
    }


def plan(environ: Mapping[str, str], modules: Mapping[str, ModuleType]) -> Repair:
    """Every module-level copy that differs from what ``environ`` gives a fresh process.

    Empty when ``huggingface_hub.constants`` was never loaded (hub 1.x/2.x load it lazily:
    then nothing is frozen yet). Raises :class:`KuaidiError` for a hub layout it does not know.
    """
    constants = modules.get("huggingface_hub.constants")
    if constants is None:
        return Repair()
    hub = modules.get("huggingface_hub")
    repair = Repair(version=str(getattr(hub, "__version__", "?")))
    if not isinstance(getattr(constants, "ENDPOINT", None), str):
        raise KuaidiError(
            "huggingface_hub.constants has no ENDPOINT: kuaidi cannot repair this release",
            fix="restart the kernel / process with kuaidi's variables set (kuaidi setup)",
        )
    fresh = fresh_values(environ)
    repair.endpoint = fresh["ENDPOINT"]
    # old value -> new value, longest first so a hub cache under HF_HOME maps to the new cache
    prefixes = sorted(
        (
            (str(getattr(constants, name)), new)
            for name, new in fresh.items()
            if isinstance(getattr(constants, name, None), str)
            and str(getattr(constants, name)) != new
        ),
        key=lambda pair: -len(pair[0]),
    )
    old_endpoint = str(constants.ENDPOINT).rstrip("/")
    switches = {name: is_true(environ.get(name)) for name in SWITCHES if name in environ}
    new_host = _host(repair.endpoint)
    seen: set[int] = set()
    for modname in sorted(modules):
        module = modules[modname]
        if module is None or modname.split(".")[0] not in FAMILY:
            continue
        for name, value in list(vars(module).items()):
            if isinstance(value, ModuleType | type) or callable(value):
                continue
            label = f"{modname}.{name}"
            if _CONSTANT.match(name) and name not in _FIXED:
                new = _constant(name, value, prefixes, switches, old_endpoint, new_host)
                if new is not None:
                    repair.patches.append(Patch(module, name, new, label))
            elif modname.startswith("huggingface_hub") and id(value) not in seen:
                seen.add(id(value))
                repair.patches += _client(value, label, prefixes)
    repaired = {id(p.target) for p in repair.patches}
    repair.unrepaired = _stale_clients(old_endpoint, repaired, modules, repair.endpoint)
    return repair


def _constant(
    name: str,
    value: Any,
    prefixes: list[tuple[str, str]],
    switches: dict[str, bool],
    old_endpoint: str,
    new_host: str,
) -> Any:
    """The value a fresh process would hold, or None when this one is already right."""
    if isinstance(value, bool) and name in switches:
        return switches[name] if value != switches[name] else None
    if isinstance(value, str):
        new = _remap(value, prefixes)
        return new if new != value else None
    if isinstance(value, frozenset) and _host(old_endpoint) in value and new_host not in value:
        return value | {new_host}  # HF_URL_HOSTS: hosts trusted with redirects and the token
    return None


def _remap(value: str, prefixes: list[tuple[str, str]]) -> str:
    for old, new in prefixes:
        if value == old or value.startswith(old.rstrip("/") + "/"):
            return new + value[len(old) :]
    return value


def _client(obj: Any, label: str, prefixes: list[tuple[str, str]]) -> list[Patch]:
    """A module-level hub client (``hf_api.api``, ``hffs``) and its inner ``_api``."""
    patches: list[Patch] = []
    for inner, suffix in ((obj, ""), (getattr(obj, "_api", None), "._api")):
        endpoint = getattr(inner, "endpoint", None)
        if not isinstance(endpoint, str) or not _is_hub_object(inner):
            continue
        new = _remap(endpoint, prefixes)
        if new != endpoint:
            patches.append(Patch(inner, "endpoint", new, f"{label}{suffix}.endpoint"))
    return patches


def _stale_clients(
    old_endpoint: str, repaired: set[int], modules: Mapping[str, ModuleType], new: str
) -> list[str]:
    """Hub clients still holding the old endpoint, named by their variable in ``__main__``."""
    if old_endpoint == new:
        return []
    main = modules.get("__main__")
    names = {id(v): k for k, v in vars(main).items()} if main is not None else {}
    found = []
    for obj in gc.get_objects():
        if id(obj) in repaired or not _is_hub_object(obj):
            continue
        endpoint = getattr(obj, "endpoint", None)
        if isinstance(endpoint, str) and endpoint.rstrip("/") == old_endpoint:
            kind = type(obj).__name__
            found.append(f"`{names[id(obj)]}` ({kind})" if id(obj) in names else f"a {kind}")
    return sorted(set(found))


def _is_hub_object(obj: Any) -> bool:
    return not isinstance(obj, type) and type(obj).__module__.startswith("huggingface_hub.")


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").lower()


def apply(repair: Repair) -> None:
    """Carry out the patches (plain attribute sets: nothing here can fail half-way)."""
    for patch in repair.patches:
        setattr(patch.target, patch.attr, patch.new)
