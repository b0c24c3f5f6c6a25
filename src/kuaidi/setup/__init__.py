"""``kuaidi setup``: one writer per config file, each idempotent, minimal-diff and reversible.

    For example::

        from kuaidi.setup import SetupOptions, plan, apply, undo
        p = plan(SetupOptions(home=home, root=root, only=frozenset({"pip"}), pypi="tuna"))
        for change in p.changes:                  # path, old, new, unified diff
            print(change.diff)
        apply(p)
        undo(home)                                # every file byte-identical to before

Writers: ``pip`` (pip.conf), ``uv`` (uv.toml), ``conda`` (.condarc), ``env`` (env.sh: HF + caches +
turbo_on/turbo_off), ``shell`` (the one marked line in ~/.bashrc, ~/.zshrc, the login file).
``DOMESTIC_NO_PROXY`` / ``no_proxy_members`` give the no_proxy list the doctor compares against.
"""

from kuaidi.setup.apply import ApplyResult, apply
from kuaidi.setup.envfile import exports
from kuaidi.setup.noproxy import DOMESTIC_NO_PROXY, LOOPBACK, no_proxy_members
from kuaidi.setup.options import TARGETS, Context, SetupOptions, resolve
from kuaidi.setup.plan import Change, Plan, plan
from kuaidi.setup.undo import UndoResult, undo


def no_proxy_for(options: SetupOptions) -> list[str]:
    """The exact ``no_proxy`` members ``turbo_on`` exports for these options (before the
    platform file's own list is appended at run time)."""
    from kuaidi.setup.envfile import no_proxy

    return no_proxy(resolve(options)).split(",")


__all__ = [
    "DOMESTIC_NO_PROXY",
    "LOOPBACK",
    "TARGETS",
    "ApplyResult",
    "Change",
    "Context",
    "Plan",
    "SetupOptions",
    "UndoResult",
    "apply",
    "exports",
    "no_proxy_for",
    "no_proxy_members",
    "plan",
    "resolve",
    "undo",
]
