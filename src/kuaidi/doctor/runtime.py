"""The import-time trap, checked inside a live Python process.

``huggingface_hub`` reads ``HF_ENDPOINT`` once, when it is imported. A notebook that runs
``import transformers`` and *then* ``os.environ["HF_ENDPOINT"] = ...`` keeps downloading from the
old endpoint. Call this from the process itself::

    >>> import kuaidi.doctor
    >>> for finding in kuaidi.doctor.check_runtime():
    ...     print(finding.message, finding.fix)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from types import ModuleType

from kuaidi.doctor.model import Finding

DEFAULT_ENDPOINT = "https://huggingface.co"


def check_runtime(
    modules: Mapping[str, ModuleType] | None = None, environ: Mapping[str, str] | None = None
) -> list[Finding]:
    """Findings for this process: ``huggingface_hub`` imported with an endpoint (or Xet /
    hf_transfer switch) different from what the environment says now. Empty when not imported."""
    modules = sys.modules if modules is None else modules
    environ = os.environ if environ is None else environ
    hub = modules.get("huggingface_hub")
    # Only a constants module that is already loaded has frozen anything: huggingface_hub 1.x/2.x
    # import it lazily, and touching it here would read the current environment (no trap).
    constants = modules.get("huggingface_hub.constants")
    if hub is None or constants is None:
        return []
    findings: list[Finding] = []
    frozen = str(getattr(constants, "ENDPOINT", DEFAULT_ENDPOINT)).rstrip("/")
    wanted = (environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    if frozen != wanted:
        findings.append(
            Finding(
                "runtime.endpoint",
                "error",
                "huggingface_hub was imported before HF_ENDPOINT was set: this process still "
                f"downloads from {frozen}",
                (
                    f"huggingface_hub.constants.ENDPOINT={frozen}",
                    f"os.environ['HF_ENDPOINT']={environ.get('HF_ENDPOINT') or '<unset>'}",
                    f"huggingface_hub {getattr(hub, '__version__', '?')}",
                ),
                "set HF_ENDPOINT before Python starts (kuaidi setup, or "
                "`HF_ENDPOINT=... python train.py`); in a notebook, restart the kernel",
            )
        )
    transfer = environ.get("HF_HUB_ENABLE_HF_TRANSFER")
    frozen_transfer = getattr(constants, "HF_HUB_ENABLE_HF_TRANSFER", None)
    if transfer is not None and frozen_transfer is not None:
        want = transfer.strip().upper() in ("1", "ON", "YES", "TRUE")
        if bool(frozen_transfer) != want:
            findings.append(
                Finding(
                    "runtime.hf_transfer",
                    "warning",
                    "HF_HUB_ENABLE_HF_TRANSFER changed after huggingface_hub was imported",
                    (
                        f"huggingface_hub.constants.HF_HUB_ENABLE_HF_TRANSFER={frozen_transfer}",
                        f"os.environ['HF_HUB_ENABLE_HF_TRANSFER']={transfer}",
                    ),
                    "set it before Python starts; restart the kernel",
                )
            )
    return findings
