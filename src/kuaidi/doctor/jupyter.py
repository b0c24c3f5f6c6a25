"""Jupyter kernels: will a notebook's kernel get ``HF_ENDPOINT``?

A kernel inherits the environment of the Jupyter server that starts it (plus its kernel spec's
``env``), not the user's ``~/.bashrc``; on AutoDL and most platforms the platform starts the
server. So the doctor reads ``/proc/PID/environ`` of the running ``jupyter-lab`` /
``jupyter-notebook`` / ``jupyter-server`` processes this user owns, and the kernel specs. It is
silent when those servers have ``HF_ENDPOINT``, or when kuaidi's IPython startup file is
installed (``kuaidi setup --only jupyter``), which gives every kernel the variables.

``/proc`` is read under the doctor's root tree (``root/proc``), so tests hand it their own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kuaidi.doctor.context import CONDA_PREFIXES, Context
from kuaidi.doctor.model import Finding, SetupFix, check

SERVER_NAMES = ("jupyter-lab", "jupyter-notebook", "jupyter-server")
# `jupyter lab` (the jupyter dispatcher) and `python -m jupyterlab` start the same servers.
SUBCOMMANDS = ("lab", "notebook", "server")
MODULES = ("jupyterlab", "notebook", "jupyter_server")


@dataclass(frozen=True)
class Server:
    """A running Jupyter server: its pid, command line and environment."""

    pid: int
    argv: tuple[str, ...]
    environ: dict[str, str]


def is_server(argv: list[str] | tuple[str, ...]) -> bool:
    """True for the command line of a Jupyter server (any of the ways it is started)."""
    names = [os.path.basename(a) for a in argv]
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < len(names) else ""
        if name in SERVER_NAMES:
            return True
        if name == "jupyter" and nxt in SUBCOMMANDS:
            return True
        if argv[i] == "-m" and nxt in MODULES:
            return True
    return False


def servers(proc: Path, uid: int | None = None) -> list[Server]:
    """Jupyter servers owned by ``uid`` (default: this user) in the ``proc`` tree."""
    uid = os.getuid() if uid is None else uid
    found = []
    try:
        entries = sorted((p for p in proc.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    except OSError:
        return []
    for entry in entries:
        try:  # a process may exit, or hide its environ, between the listing and the read
            if entry.stat().st_uid != uid:
                continue
            argv = _split((entry / "cmdline").read_bytes())
            if not is_server(argv):
                continue
            pairs = (item.partition("=") for item in _split((entry / "environ").read_bytes()))
        except OSError:
            continue
        found.append(Server(int(entry.name), tuple(argv), {k: v for k, _, v in pairs}))
    return found


def _split(raw: bytes) -> list[str]:
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def kernel_specs(ctx: Context) -> dict[Path, dict[str, str]]:
    """Every ``kernel.json`` in Jupyter's search path and its ``env`` (jupyter_client's order)."""
    dirs = []
    data = ctx.environ.get("JUPYTER_DATA_DIR")
    dirs.append(ctx.on_box(data) if data else ctx.home / ".local/share/jupyter")
    dirs += [ctx.on_box(p) for p in (ctx.environ.get("JUPYTER_PATH") or "").split(":") if p]
    dirs += [ctx.under(p) / "share/jupyter" for p in CONDA_PREFIXES]
    dirs += [ctx.under("/usr/local/share/jupyter"), ctx.under("/usr/share/jupyter")]
    specs: dict[Path, dict[str, str]] = {}
    for base in dict.fromkeys(dirs):
        for path in sorted((base / "kernels").glob("*/kernel.json")):
            try:
                env = json.loads(path.read_text("utf-8")).get("env") or {}
            except (OSError, ValueError, AttributeError):
                continue
            specs[path] = {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}
    return specs


def startup_installed(ctx: Context) -> bool:
    """kuaidi's IPython startup file and the env file it loads are both in place."""
    value = ctx.environ.get("IPYTHONDIR")
    ipython = ctx.on_box(value) if value and os.path.isabs(value) else ctx.home / ".ipython"
    startup = ipython / "profile_default/startup/00-kuaidi.py"
    return startup.is_file() and ctx.kuaidi_env_file.is_file()


@check("jupyter.kernels", "warning", "Jupyter kernels get HF_ENDPOINT")
def check_kernels(ctx: Context) -> list[Finding]:
    if startup_installed(ctx):
        return []
    running = [s for s in servers(ctx.under("/proc")) if not s.environ.get("HF_ENDPOINT")]
    if not running:
        return []
    specs = kernel_specs(ctx)
    evidence = [
        f"pid {s.pid} ({' '.join(s.argv)[:120]}): HF_ENDPOINT=<unset> in /proc/{s.pid}/environ"
        for s in running
    ]
    for path, env in specs.items():
        have = env.get("HF_ENDPOINT")
        evidence.append(f"kernel spec {path}: " + (f"HF_ENDPOINT={have}" if have else "no env"))
    targets = ("jupyter",) if ctx.kuaidi_env_file.is_file() else ("env", "jupyter")
    fix = SetupFix(targets)
    return [
        Finding(
            "jupyter.kernels",
            "warning",
            f"{len(running)} running Jupyter server(s) without HF_ENDPOINT: their notebook "
            "kernels download from huggingface.co (a kernel inherits the server's environment, "
            "not ~/.bashrc)",
            tuple(evidence),
            f"{fix.command()} (an IPython startup file gives every kernel kuaidi's variables; "
            "restart the kernels)",
            fix,
        )
    ]
