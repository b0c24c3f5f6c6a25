"""``kuaidi cache rm / prune / move`` and ``verify --repair``, attached to the ``cache`` group.

:func:`attach` adds the verbs and wraps the existing ``verify`` with a ``--repair`` flag (without
it, the existing command runs unchanged).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kuaidi.cache.scan import Removal, parse_age
from kuaidi.get import default_cache_dir
from kuaidi.units import format_size

_CACHE_OPT = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="HF cache (default HF_HUB_CACHE or $HF_HOME/hub).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
_DRY = click.option("--dry-run", is_flag=True, help="Say what would happen; change nothing.")


def _print_removal(removal: Removal, dry_run: bool, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(removal.to_json(dry_run=dry_run), indent=1))
        return
    verb = "would remove" if dry_run else "removing"
    for v in removal.ordered():
        size = f" ({format_size(v.bytes)})" if v.bytes else ""
        click.echo(f"{verb} {v.what} {v.label}{size}")
    for note in removal.skipped:
        click.echo(f"kept: {note}", err=True)
    frees = "would free" if dry_run else "freed"
    click.echo(f"{frees} {format_size(removal.freed)} in {removal.cache}", err=True)


@click.command(name="rm")
@click.argument("repos", nargs=-1, required=True)
@click.option("--repo-type", type=click.Choice(["model", "dataset", "space"]), default="model")
@_CACHE_OPT
@_DRY
@_JSON
def rm_cmd(
    repos: tuple[str, ...], repo_type: str, cache_dir: Path | None, dry_run: bool, as_json: bool
) -> int:
    """Remove REPO[@REV]…; a blob another kept revision uses stays."""
    from kuaidi.cache.rm import plan_rm

    removal = plan_rm(cache_dir or default_cache_dir(), repos, repo_type)
    if not dry_run:
        removal.execute()
    _print_removal(removal, dry_run, as_json)
    return 0


@click.command(name="prune")
@click.option("--older-than", help="Also whole repos not used for this long (30d, 12h, 2w).")
@click.option("--keep-latest", is_flag=True, help="Each repo keeps its newest revision.")
@click.option("--partials", is_flag=True, help="Also partial downloads whose writer is gone.")
@_CACHE_OPT
@_DRY
@_JSON
def prune_cmd(
    older_than: str | None,
    keep_latest: bool,
    partials: bool,
    cache_dir: Path | None,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Remove detached revisions, orphan blobs and (--partials) dead partial downloads."""
    from kuaidi.cache.prune import plan_prune

    age = parse_age(older_than) if older_than else None
    removal = plan_prune(
        cache_dir or default_cache_dir(), older_than=age, keep_latest=keep_latest, partials=partials
    )
    if not dry_run:
        removal.execute()
    _print_removal(removal, dry_run, as_json)
    return 0


@click.command(name="move")
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Disk root: the HF cache goes to DIR/hf/hub (as `kuaidi setup --data-disk DIR` lays out).",
)
@click.option("--modelscope", is_flag=True, help="Also the ModelScope cache (→ DIR/modelscope).")
@click.option("--pip", is_flag=True, help="Also pip's cache (→ DIR/pip).")
@click.option("--copy", is_flag=True, help="Copy and verify even where a rename would do.")
@click.option("--no-link", is_flag=True, help="Leave no symlink at the old path.")
@_CACHE_OPT
@_DRY
@_JSON
def move_cmd(
    to: Path,
    modelscope: bool,
    pip: bool,
    copy: bool,
    no_link: bool,
    cache_dir: Path | None,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Move the cache to another disk: verified, resumable, then repoint kuaidi's env file."""
    from kuaidi.cache.move import move

    to = to if to.is_absolute() else Path.cwd() / to
    say = (lambda _: None) if as_json else (lambda line: click.echo(line, err=True))
    summary = move(
        to,
        cache_dir=cache_dir,
        modelscope=modelscope,
        pip=pip,
        copy=copy,
        link=not no_link,
        dry_run=dry_run,
        say=say,
    )
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return 0
    for leg in summary["legs"]:
        verb = "would move" if dry_run else "moved"
        state = "" if dry_run or leg["state"] == "removed" else f" ({leg['state']})"
        click.echo(
            f"{verb} {leg['name']}: {leg['source']} → {leg['dest']} "
            f"({format_size(leg['bytes'])}, {leg['method']}){state}"
        )
    exports = " ".join(f"{k}={v}" for k, v in summary["env"].items())
    if dry_run:
        click.echo(f"would set {exports} in kuaidi's env file")
    else:
        click.echo(f"set {exports}; new shells see it (this one: . ~/.config/kuaidi/env.sh)")
        click.echo("undo the env change with: kuaidi setup --undo (the old path links here)")
    return 0


@click.option("--repair", is_flag=True, help="Fetch corrupt or missing files again (route ladder).")
@click.option("--endpoint", help="HF mirror for --repair (default HF_ENDPOINT).")
@_JSON
def _repair_opts() -> None:  # pragma: no cover - only carries the options
    """Options added to ``verify``."""


def _repair(repo_ids: list[str], cache: Path, endpoint: str | None, as_json: bool) -> int:
    from kuaidi.cache.repair import check, repair

    found = check(cache, repo_ids)
    out: dict[str, Any] = {"checked": found.files, "bad": [b.to_json() for b in found.bad]}
    if not as_json:
        for b in found.bad:
            click.echo(f"BAD {b.repo_id}: {b.path} ({b.reason})")
    fixed = repair(cache, found.bad, endpoint=endpoint) if found.bad else []
    out["repaired"] = [r.to_json() for r in fixed]
    still = [r for r in fixed if not r.ok]
    if as_json:
        click.echo(json.dumps(out, indent=1))
    else:
        for r in fixed:
            word = "REPAIRED" if r.ok else "NOT REPAIRED"
            why = f" ({r.error})" if r.error else ""
            click.echo(f"{word} {r.file.repo_id}: {r.file.path}{why}")
        click.echo(
            f"{found.files} files checked, {len(found.bad)} bad, "
            f"{len(fixed) - len(still)} repaired",
            err=True,
        )
    return 1 if still else 0


def _wrap_verify(original: click.Command) -> click.Command:
    """``verify`` plus ``--repair`` (and ``--endpoint``); without ``--repair`` the original runs."""
    names = {p.name for p in original.params}
    # click's option decorators collect on this attribute of the bare function; untyped there
    extra = [p for p in _repair_opts.__click_params__ if p.name not in names]  # type: ignore[attr-defined]

    def callback(**kw: Any) -> Any:
        repair = kw.pop("repair", False)
        endpoint = kw.pop("endpoint", None)
        as_json = kw.get("as_json", False) if "as_json" in names else kw.pop("as_json", False)
        if not repair:
            assert original.callback is not None
            return original.callback(**kw)
        ids = kw.get("repo_id") or kw.get("repo_ids") or ()
        ids = [ids] if isinstance(ids, str) else list(ids)
        return _repair(ids, kw.get("cache_dir") or default_cache_dir(), endpoint, as_json)

    return click.Command(
        name=original.name,
        params=[*original.params, *extra],
        callback=callback,
        help=(original.help or "")
        + "\n\nWith --repair, corrupt or missing files are fetched again.",
        short_help=original.short_help,
    )


def attach(group: click.Group) -> None:
    """Add rm / prune / move to ``group`` and give its ``verify`` a ``--repair``."""
    for cmd in (rm_cmd, prune_cmd, move_cmd):
        group.add_command(cmd)
    if "verify" in group.commands:
        group.add_command(_wrap_verify(group.commands["verify"]))
