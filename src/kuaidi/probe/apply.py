"""``kuaidi probe --apply``: write the winner through ``kuaidi setup`` (never by hand)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from kuaidi.errors import KuaidiError
from kuaidi.probe import ProbeResult
from kuaidi.setup import SetupOptions, apply, plan

# target -> (setup writers, SetupOptions field)
WRITERS: dict[str, tuple[frozenset[str], str]] = {
    "pypi": (frozenset({"pip", "uv"}), "pypi"),
    "conda": (frozenset({"conda"}), "conda"),
    "hf": (frozenset({"env", "shell"}), "hf"),
}


def setup_options(
    result: ProbeResult,
    *,
    home: Path | None = None,
    root: Path = Path("/"),
    environ: Mapping[str, str] | None = None,
) -> SetupOptions:
    """The ``kuaidi setup`` options that write ``result``'s winner."""
    winner = result.winner
    if winner is None:
        raise KuaidiError(
            f"no usable {result.kind} mirror was found, so nothing was written",
            fix="check the table above (down / not-index / stale), or add --candidate name=URL",
        )
    if result.kind not in WRITERS:
        raise KuaidiError(
            f"kuaidi setup has no {result.kind} setting to write",
            fix="ModelScope has one endpoint; nothing to choose",
        )
    targets, field = WRITERS[result.kind]
    cand = winner.candidate
    value = cand.name if cand.catalog else cand.url
    return SetupOptions(
        home=home,
        root=root,
        environ=environ,
        only=targets,
        pypi=value if field == "pypi" else None,
        conda=value if field == "conda" else None,
        hf=value if field == "hf" else None,
    )


def setup_command(result: ProbeResult) -> str:
    """The ``kuaidi setup`` command line that writes the winner (what ``--apply`` runs)."""
    options = setup_options(result)
    targets, field = WRITERS[result.kind]
    only = ",".join(t for t in ("pip", "uv", "conda", "env", "shell") if t in targets)
    flag = {"pypi": "--pypi", "conda": "--conda", "hf": "--hf"}[field]
    return f"kuaidi setup --only {only} {flag} {getattr(options, field)}"


def apply_winner(
    result: ProbeResult,
    *,
    home: Path | None = None,
    root: Path = Path("/"),
    environ: Mapping[str, str] | None = None,
) -> tuple[Path, ...]:
    """Write the winner (atomic, undoable with ``kuaidi setup --undo``); the files written."""
    the_plan = plan(setup_options(result, home=home, root=root, environ=environ))
    return apply(the_plan).written
