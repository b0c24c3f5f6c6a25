"""The import rule of docs/architecture.md, checked from the code: arrows point one way.

Every ``import`` in ``src/kuaidi`` (module level, inside functions, under TYPE_CHECKING) is read
with :mod:`ast`; each names a *component* (the first part after ``kuaidi.``: ``sources``,
``get``, ``model``, …). A component may import itself, the base (errors, model, units, atomic)
and what :data:`MAY_IMPORT` names for it — nothing else. ``from kuaidi import __version__`` is
metadata, allowed everywhere; the package root re-exports the API lazily and is not a layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "kuaidi"

# The base: plain values and helpers every layer may use. Inside it only errors is imported.
BASE = {"errors", "model", "units", "atomic"}
# What each component may import beyond itself and the base (docs/architecture.md draws it).
MAY_IMPORT: dict[str, set[str]] = {
    # entry points
    "__main__": {"cli"},
    "cli": set(),  # everything below it: filled in after the table
    # façades over the workflows
    "api": {"get", "setup", "cache", "hubrepair", "transfer", "store", "net", "repoargs"},
    "serve": {"api", "get", "cache", "setup", "sources", "transfer", "store", "net", "repoargs"},
    # workflows
    "bundle": {"cache", "get", "store"},
    "probe": {"doctor", "setup", "platforms", "mirrors", "net"},
    "doctor": {"setup", "platforms", "mirrors", "net"},
    "cache": {"get", "setup", "store"},
    "get": {"sources", "transfer", "store", "repoargs", "net"},
    "fetch_url": {"sources", "transfer", "store", "mirrors", "net"},
    "setup": {"platforms", "mirrors", "net"},
    # the engine's parts: siblings, none imports another
    "sources": {"net"},
    "transfer": {"net"},
    "store": set(),
    "repoargs": set(),
    "platforms": {"net"},
    # HTTP, and leaves that stand alone
    "net": set(),
    "mirrors": set(),
    "hubrepair": set(),
    "sim": set(),  # the simulated world shares no code with the client it tests
    # the base
    "model": {"errors"},
    "units": {"errors"},
    "atomic": {"errors"},
    "errors": set(),
}
MAY_IMPORT["cli"] = set(MAY_IMPORT) - {"cli", "__main__"}


def _component(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "kuaidi":
        return None
    return parts[1] if len(parts) > 1 else ""


def imports(root: Path) -> Iterator[tuple[str, int, str]]:
    """(file relative to root, line, imported kuaidi module) for every import under ``root``."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        package = ["kuaidi", *rel.parent.parts]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield str(rel), node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                if module == "kuaidi":  # from kuaidi import errors → kuaidi.errors
                    for alias in node.names:
                        yield str(rel), node.lineno, f"kuaidi.{alias.name}"
                else:
                    yield str(rel), node.lineno, module


def violations(root: Path) -> list[str]:
    """Every import under ``root`` (a ``kuaidi`` package tree) that breaks :data:`MAY_IMPORT`."""
    out = []
    for rel, line, module in imports(root):
        parts = Path(rel).with_suffix("").parts
        if parts == ("__init__",):
            continue  # the package root: lazy re-exports of the API, not a layer
        source = parts[0]
        target = _component(module)
        if target is None or target == source:
            continue
        if target in ("", "__version__", "__init__"):
            continue  # `import kuaidi` / `from kuaidi import __version__`: metadata
        if source not in MAY_IMPORT:
            out.append(f"{rel}: component {source!r} is not placed in docs/architecture.md")
            continue
        allowed = MAY_IMPORT[source] | (BASE if source not in BASE else set())
        if target not in allowed:
            out.append(f"{rel}:{line}: {source} may not import {module}")
    return out


def test_imports_point_one_way() -> None:
    assert violations(SRC) == []


def test_every_component_is_placed() -> None:
    modules = {p.stem for p in SRC.glob("*.py")} - {"__init__"}
    packages = {p.parent.name for p in SRC.glob("*/__init__.py")}
    assert sorted((modules | packages) - set(MAY_IMPORT)) == []


def test_the_rule_itself_has_no_cycle() -> None:
    graph = {name: deps for name, deps in MAY_IMPORT.items()}
    for name in MAY_IMPORT:
        if name not in BASE:
            graph[name] = graph[name] | BASE
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"the layer rule has a cycle: {exc.args[1]}")


def test_the_check_catches_a_sibling_import(tmp_path: Path) -> None:
    """What old main did (sources → transfer.route, store → sources.base) is caught,
    including an import inside a function."""
    (tmp_path / "sources").mkdir()
    (tmp_path / "store").mkdir()
    (tmp_path / "sources" / "hf.py").write_text("from kuaidi.transfer.route import Route\n")
    (tmp_path / "store" / "target.py").write_text(
        "def f():\n    from ..sources.base import RemoteFile\n"
    )
    assert violations(tmp_path) == [
        "sources/hf.py:1: sources may not import kuaidi.transfer.route",
        "store/target.py:2: store may not import kuaidi.sources.base",
    ]
