"""Point kuaidi setup's env file (the switchboard) at a moved cache, through setup's own writer.

The change goes through :func:`kuaidi.setup.apply` — pristine copy first, then an atomic write —
so ``kuaidi setup --undo`` reverts it like any other setup change. Only the ``export VAR=…`` lines
named are touched; everything else in the file stays as setup wrote it. When there is no env file
yet, it is created and the one ``. env.sh`` line goes into the shell rc files (setup's ``shell``
writer), so new shells see the new location.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from kuaidi.setup import Change, Plan, SetupOptions, apply, plan, resolve
from kuaidi.setup.envfile import HEADER, sh_quote


def set_exports(text: str | None, values: Mapping[str, str]) -> str:
    """``text`` with each ``export NAME=…`` line set to ``values[NAME]`` (added when absent).

    >>> set_exports('export A="1"\\nfoo() { :; }\\n', {"A": "2", "B": "3"})
    'export A="2"\\nexport B="3"\\nfoo() { :; }\\n'
    """
    lines = (text if text is not None else HEADER).splitlines(keepends=True)
    for name, value in values.items():
        new = f"export {name}={sh_quote(value)}\n"
        pattern = re.compile(rf"^export {re.escape(name)}=")
        hits = [i for i, ln in enumerate(lines) if pattern.match(ln)]
        if hits:
            for i in hits:
                lines[i] = new
            continue
        exports = [i for i, ln in enumerate(lines) if ln.startswith("export ")]
        at = exports[-1] + 1 if exports else len(lines)
        lines.insert(at, new)
    return "".join(lines)


def plan_env(values: Mapping[str, str], home: Path | None = None) -> Plan:
    """The setup plan that points the env file at ``values`` (nothing written)."""
    options = SetupOptions(home=home, environ=None if home is None else {})
    ctx = resolve(options)
    path = ctx.env_file
    old = path.read_text("utf-8") if path.is_file() else None
    changes = []
    new = set_exports(old, values)
    if new != old:
        changes.append(Change("env", path, old, new))
    if old is None:  # a fresh env file: the rc line that sources it, too
        shell = plan(SetupOptions(home=home, environ=options.environ, only=frozenset({"shell"})))
        changes += list(shell.changes)
    # recorded in setup's state, so a later `kuaidi setup` keeps these paths
    return Plan(ctx, tuple(changes), moved_caches=tuple(values.items()))


def point_env(values: Mapping[str, str], home: Path | None = None) -> list[Path]:
    """Write :func:`plan_env`; the files written."""
    return list(apply(plan_env(values, home)).written)
