"""What every model scanner returns: findings, verdicts and results (a data contract).

A scanner never executes, imports or unpickles what it reads: it parses bytes. A file's
verdict follows from its findings: any ``high`` or ``critical`` finding makes it
``malicious``, any other finding ``suspicious``, none ``clean``; a file that could not be
assessed (unreadable, truncated, an unknown format) is ``error`` with a reason, never
``clean``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# MITRE ATLAS "Unsafe AI Artifacts", "AI Supply Chain Compromise: Model"; OWASP ML06.
THREATS = ("AML.T0011.000", "AML.T0010.003", "ML06:2023")


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so that ``max()`` gives the worst."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()


class Verdict(enum.StrEnum):
    """One word per file."""

    CLEAN = "clean"
    SUSPICIOUS = "suspicious"
    MALICIOUS = "malicious"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """One reason to distrust a file.

    ``offset`` is the byte offset in the file (or inside ``member`` for an archive
    member); ``global_name`` is the offending import (``os.system``) when there is one.
    """

    severity: Severity
    scanner: str
    detail: str
    offset: int | None = None
    global_name: str | None = None
    member: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a finding."""
        return {
            "severity": str(self.severity),
            "scanner": self.scanner,
            "detail": self.detail,
            "offset": self.offset,
            "global": self.global_name,
            "member": self.member,
            "threats": list(THREATS),
        }


class ScanFailed(Exception):
    """The bytes could not be assessed (truncated, malformed, over a limit).

    ``findings`` holds what was found before the failure: a truncated pickle that had
    already imported ``os.system`` is still malicious.
    """

    def __init__(self, reason: str, findings: Iterable[Finding] = ()) -> None:
        super().__init__(reason)
        self.findings = list(findings)


@dataclass(frozen=True)
class ScanResult:
    """The scan of one file."""

    path: str
    verdict: Verdict
    format: str
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    size: int = 0
    seconds: float = 0.0
    sha256: str = ""
    globals_seen: tuple[str, ...] = field(default=(), compare=False)

    @property
    def flagged(self) -> bool:
        """Suspicious or malicious."""
        return self.verdict in (Verdict.SUSPICIOUS, Verdict.MALICIOUS)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape documented for ``bastion model scan --json``."""
        return {
            "path": self.path,
            "verdict": str(self.verdict),
            "format": self.format,
            "findings": [f.as_dict() for f in self.findings],
            "error": self.error,
            "size": self.size,
            "sha256": self.sha256,
            "seconds": round(self.seconds, 6),
        }


def verdict_of(findings: Iterable[Finding]) -> Verdict:
    """Malicious if any finding is high or critical, suspicious if any other, else clean."""
    worst = max((f.severity for f in findings), default=None)
    if worst is None:
        return Verdict.CLEAN
    return Verdict.MALICIOUS if worst >= Severity.HIGH else Verdict.SUSPICIOUS
