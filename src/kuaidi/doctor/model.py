"""The doctor's data: a ``Check`` (id, severity, function) and the ``Finding`` it returns.

A finding names the trap, shows the evidence it saw, and gives the exact fix; ``auto_fix`` is set
when ``kuaidi doctor --fix`` can repair it safely through ``kuaidi setup``::

    Finding("hf.endpoint", "error", "HF_ENDPOINT is not set: downloads go to huggingface.co",
            evidence=["HF_ENDPOINT=<unset>"], fix="kuaidi setup --only env,shell",
            auto_fix=SetupFix(targets=("env", "shell")))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from kuaidi.net.urls import redact

if TYPE_CHECKING:
    from kuaidi.doctor.context import Context

Severity = Literal["error", "warning", "info"]


SEVERITIES: tuple[str, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class SetupFix:
    """A repair ``kuaidi setup`` can make: the writers to run and the mirrors to write.

    Several fixes are merged into one setup run (targets united, first named mirror wins).
    """

    targets: tuple[str, ...]
    pypi: str | None = None
    conda: str | None = None
    hf: str | None = None

    def command(self) -> str:
        """The equivalent command line, shown to the user (credentials redacted)."""
        parts = ["kuaidi setup", "--only " + ",".join(self.targets)]
        for flag, value in (("--pypi", self.pypi), ("--conda", self.conda), ("--hf", self.hf)):
            if value:
                parts.append(f"{flag} {value}")
        return redact(" ".join(parts), keep_user=False)


@dataclass(frozen=True)
class Finding:
    """One trap found: what is wrong, what was seen, how to fix it."""

    check_id: str
    severity: Severity
    message: str
    evidence: tuple[str, ...] = ()
    fix: str = ""
    auto_fix: SetupFix | None = None

    def __post_init__(self) -> None:
        # Evidence quotes the user's own settings; credentials in them stay out of every output.
        object.__setattr__(self, "message", redact(self.message, keep_user=False))
        object.__setattr__(
            self, "evidence", tuple(redact(e, keep_user=False) for e in self.evidence)
        )
        object.__setattr__(self, "fix", redact(self.fix, keep_user=False))

    def to_dict(self) -> dict[str, object]:
        """The stable ``--json`` shape of a finding (docs/doctor.md)."""
        return {
            "check": self.check_id,
            "severity": self.severity,
            "message": self.message,
            "evidence": list(self.evidence),
            "fix": self.fix,
            "auto_fix": self.auto_fix.command() if self.auto_fix else None,
        }


CheckFunc = Callable[["Context"], list[Finding]]


@dataclass(frozen=True)
class Check:
    """A registered check. ``severity`` is the worst it reports; ``live`` ones use the network."""

    id: str
    severity: Severity
    title: str
    func: CheckFunc
    live: bool = False


REGISTRY: dict[str, Check] = {}


def check(
    check_id: str, severity: Severity, title: str, *, live: bool = False
) -> Callable[[CheckFunc], CheckFunc]:
    """Register ``func`` as check ``check_id`` (ids are ``area.name``, unique)."""

    def register(func: CheckFunc) -> CheckFunc:
        if check_id in REGISTRY:  # pragma: no cover - guards the code, not the user
            raise RuntimeError(f"doctor check {check_id!r} registered twice")
        REGISTRY[check_id] = Check(check_id, severity, title, func, live)
        return func

    return register


@dataclass
class Report:
    """Every finding of one doctor run, plus which checks ran and which were skipped."""

    findings: list[Finding] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    crashed: dict[str, str] = field(default_factory=dict)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def exit_code(self) -> int:
        """1 while any error-level finding remains (or a check crashed), else 0."""
        return 1 if self.count("error") or self.crashed else 0
