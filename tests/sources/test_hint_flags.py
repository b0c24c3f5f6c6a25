"""Every flag a source's hint names is a flag of ``kuaidi get`` (a hint once named
``--no-modelscope``, which never existed)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from kuaidi.cli import cli

SOURCES = Path(__file__).resolve().parents[2] / "src" / "kuaidi" / "sources"


def test_hints_name_real_get_flags() -> None:
    ctx = click.Context(cli)
    get = cli.get_command(ctx, "get")
    assert get is not None
    flags = {opt for p in get.params for opt in getattr(p, "opts", [])}
    named = {
        (path.name, flag)
        for path in SOURCES.glob("*.py")
        for hint in re.findall(r'fix=(?:f?"[^"]*"\s*)+', path.read_text(encoding="utf-8"))
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", hint)
    }
    assert named, "the scan found no hint naming a flag"
    assert sorted((f, flag) for f, flag in named if flag not in flags) == []
