"""``kuaidi platform``: which GPU cloud this box is, its data disk, what survives, its proxy."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from kuaidi.platforms import Platform, detect


def _free(path: Path) -> str:
    try:
        st = os.statvfs(path)
    except OSError:
        return "missing"
    inodes = f", {st.f_favail:,} inodes free" if st.f_files else ""
    return f"{st.f_bavail * st.f_frsize / 1e9:.1f} GB free{inodes}"


def as_dict(p: Platform) -> dict[str, object]:
    """A JSON-ready view of the platform (for --json and the doctor)."""
    proxy = None
    if p.proxy is not None:
        proxy = {
            "kind": p.proxy.kind,
            "source": str(p.proxy.source) if p.proxy.source else None,
            "url": p.proxy.url,
            "no_proxy": list(p.proxy.no_proxy),
            "note": p.proxy.note,
        }
    return {
        "name": p.name,
        "display": p.display,
        "signals": list(p.signals),
        "data_disk": str(p.data_disk) if p.data_disk else None,
        "system_disk": str(p.system_disk),
        "storage": [{"path": s.path, "role": s.role, "survives": s.survives} for s in p.storage],
        "warnings": list(p.warnings),
        "proxy": proxy,
    }


@click.command(name="platform")
@click.option(
    "--root",
    envvar="KUAIDI_ROOT",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Detect under this root (a fake tree in tests).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(root: Path, as_json: bool) -> None:
    """Show the detected platform and the signals that matched."""
    p = detect(root)
    if as_json:
        click.echo(json.dumps(as_dict(p), ensure_ascii=False, indent=2))
        return
    click.echo(f"platform:    {p.display} ({p.name})")
    click.echo(f"signals:     {', '.join(p.signals) or 'none (bare box)'}")
    disk = f"{p.data_disk} ({_free(p.data_disk)})" if p.data_disk else "none found"
    click.echo(f"data disk:   {disk}")
    click.echo(f"system disk: {p.system_disk} ({_free(p.system_disk)})")
    if p.storage:
        click.echo("storage:")
        for s in p.storage:
            click.echo(f"  {s.path:<24} {s.role:<8} {s.survives}")
    if p.proxy is not None:
        where = f" from {p.proxy.source}" if p.proxy.source else ""
        click.echo(f"proxy:       {p.proxy.kind}{where}: {p.proxy.url or 'not configured'}")
        if p.proxy.note:
            click.echo(f"             {p.proxy.note}")
    for warning in p.warnings:
        click.echo(f"warning:     {warning}")
