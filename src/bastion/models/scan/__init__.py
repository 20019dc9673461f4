"""Static model-file scanning: nothing is imported, executed or unpickled.

``scan_paths([Path("models/")])`` returns one :class:`ScanResult` per file with a
verdict (clean, suspicious, malicious, error) and findings that carry a severity,
the scanner, the offending global or member, and the byte offset.
"""

from bastion.models.scan.base import Finding, ScanFailed, ScanResult, Severity, Verdict
from bastion.models.scan.engine import (
    ENTRY_POINT_GROUP,
    Engine,
    ModelScanner,
    ScanLimits,
    Target,
    scan_bytes,
    scan_paths,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Engine",
    "Finding",
    "ModelScanner",
    "ScanFailed",
    "ScanLimits",
    "ScanResult",
    "Severity",
    "Target",
    "Verdict",
    "scan_bytes",
    "scan_paths",
]
