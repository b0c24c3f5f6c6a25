"""Jupyter kernels: an IPython startup file that loads kuaidi's env file before the first cell.

A kernel inherits the environment of the Jupyter server that started it, not the user's login
shell (jupyter/notebook #3704); on AutoDL and most platforms the platform starts JupyterLab, so
the marked line in ``~/.bashrc`` never reaches a notebook. IPython runs every file in
``$IPYTHONDIR/profile_default/startup/`` when a kernel's shell starts — whichever Python or conda
env the kernel runs in and whatever the server's environment is — so one file reaches every
IPython kernel of this user. Kernel specs' ``env`` would not: the default ``python3`` kernel has
no spec file in the user's directories, and a spec added later would go without.

The startup file uses only the standard library (a conda env's kernel may not have kuaidi) and
reads the env file when the kernel starts, so ``kuaidi setup --hf …`` later reaches new kernels
too. A variable the kernel already has (the server's, a kernel spec's) is kept, as
``kuaidi.activate()`` does.
"""

from __future__ import annotations

import os
from pathlib import Path

from kuaidi.setup.options import Context

STARTUP_NAME = "00-kuaidi.py"

_TEMPLATE = r"""
# Written by `kuaidi setup`; re-run it to change, `kuaidi setup --undo` to remove.
# Gives every IPython kernel of this user kuaidi's variables (HF_ENDPOINT, caches, ...) before
# the first cell runs: a kernel inherits the Jupyter server's environment, not ~/.bashrc.
# Standard library only (kernels of conda envs without kuaidi run it too); a variable the
# kernel already has is kept.
def _kuaidi_env(path=@ENV_FILE@):
    import os
    import re

    if path is None:  # kuaidi's rule: $XDG_CONFIG_HOME or ~/.config
        config = os.environ.get("XDG_CONFIG_HOME", "")
        config = config if os.path.isabs(config) else os.path.expanduser("~/.config")
        path = os.path.join(config, "kuaidi", "env.sh")
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError:
        return
    line = r'^export ([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"$'
    for match in re.finditer(line, text, re.M):
        name, value = match.group(1), re.sub(r"\\(.)", r"\1", match.group(2))
        if not os.environ.get(name):
            os.environ[name] = value


_kuaidi_env()
del _kuaidi_env
"""


def ipython_dir(ctx: Context) -> Path:
    """``$IPYTHONDIR`` (absolute) or ``~/.ipython``, as IPython resolves it."""
    value = ctx.environ.get("IPYTHONDIR")
    return Path(value).expanduser() if value and os.path.isabs(value) else ctx.home / ".ipython"


def startup_file(ctx: Context) -> Path:
    """``~/.ipython/profile_default/startup/00-kuaidi.py``: runs first (IPython sorts by name)."""
    return ipython_dir(ctx) / "profile_default" / "startup" / STARTUP_NAME


def targets(ctx: Context) -> list[Path]:
    """The one startup file."""
    return [startup_file(ctx)]


def warnings(ctx: Context) -> list[str]:
    """The startup file loads the env file: say so when this run does not write it."""
    if "env" in ctx.targets or ctx.env_file.is_file():
        return []
    return [
        f"the Jupyter startup file loads {ctx.env_file}, which does not exist yet: "
        "run kuaidi setup --only env,jupyter"
    ]


def render(ctx: Context, path: Path, old: str | None) -> str:
    """The startup file is kuaidi's own: always the full text. The env file's path is found at
    kernel start by kuaidi's own rule, unless this setup ran with ``$XDG_CONFIG_HOME`` set:
    then its absolute path is written in (the Jupyter server may not have that variable)."""
    custom = os.path.isabs(ctx.environ.get("XDG_CONFIG_HOME") or "")
    baked = repr(str(ctx.env_file)) if custom else "None"
    return _TEMPLATE.lstrip("\n").replace("@ENV_FILE@", baked)
