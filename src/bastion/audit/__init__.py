"""Append-only, hash-chained audit log with signed checkpoints, query and export."""

from bastion.audit.events import AuditEvent, EventDraft, Outcome, chain_hash
from bastion.audit.export import export_lines, to_ocsf
from bastion.audit.store import AuditQuery, AuditStore, Signer
from bastion.audit.verify import VerificationReport, scan_log, verify_log
from bastion.audit.writer import AuditWriter

__all__ = [
    "AuditEvent",
    "AuditQuery",
    "AuditStore",
    "AuditWriter",
    "EventDraft",
    "Outcome",
    "Signer",
    "VerificationReport",
    "chain_hash",
    "export_lines",
    "scan_log",
    "to_ocsf",
    "verify_log",
]
