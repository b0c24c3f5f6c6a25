"""Every ``>>>`` example in kuaidi's docstrings runs, and prints what it shows.

An example that cannot run on a test box (a real network, a real /etc/network_turbo) is written
as a plain ``::`` code block instead, so a ``>>>`` is always a checked claim: no ``+SKIP``.
"""

from __future__ import annotations

import doctest
import importlib
import io
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted((SRC / "kuaidi").rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(SRC).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_examples_are_found() -> None:
    assert len(MODULES) >= 20  # the discovery itself works (src layout, rglob)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, out.getvalue()
    assert result.attempted > 0, f"{name} has '>>>' text but no example doctest runs"


def test_no_skipped_examples() -> None:
    skipped = [
        f"{path.relative_to(SRC)}:{n}"
        for path in sorted((SRC / "kuaidi").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "doctest: +SKIP" in line
    ]
    assert skipped == [], "write these as plain '::' code blocks instead: " + ", ".join(skipped)
