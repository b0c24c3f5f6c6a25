"""``kuaidi doctor``: a registry of checks for the traps that eat evenings on a CN GPU box.

    For example::

        from kuaidi.doctor import Context, run, fix
        ctx = Context(environ={"https_proxy": "http://10.0.0.1:3128"}, home=home, root=root)
        report = run(ctx, offline=True)
        [f.check_id for f in report.findings]
        # ['hf.endpoint', 'proxy.no_proxy_missing', ...]
        fix(ctx, report).written                        # through kuaidi setup

Checks live in small modules by concern (``hf``, ``proxy``, ``turbo``, ``pip``, ``conda``,
``disks``, ``shellrc``, ``live``); each registers itself with :func:`kuaidi.doctor.model.check`.
:func:`check_runtime` is the in-process check for the HF_ENDPOINT import-time trap.
"""

from __future__ import annotations

from kuaidi.doctor import conda, disks, git, hf, jupyter, live, pip, proxy, shellrc, turbo  # noqa: F401
from kuaidi.doctor.context import Context
from kuaidi.doctor.fixing import FixResult, fix, merge_fixes, new_shell
from kuaidi.doctor.model import REGISTRY, SEVERITIES, Check, Finding, Report, SetupFix, check
from kuaidi.doctor.report import JSON_VERSION, to_json
from kuaidi.doctor.runner import run
from kuaidi.doctor.runtime import check_runtime

__all__ = [
    "JSON_VERSION",
    "REGISTRY",
    "SEVERITIES",
    "Check",
    "Context",
    "Finding",
    "FixResult",
    "Report",
    "SetupFix",
    "check",
    "check_runtime",
    "fix",
    "merge_fixes",
    "new_shell",
    "run",
    "to_json",
]
