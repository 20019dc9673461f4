"""Audit operations as services: query, verify, export, all on the operation path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bastion.audit.events import AuditEvent
from bastion.audit.export import FORMATS, export_lines
from bastion.audit.store import AuditQuery
from bastion.audit.verify import VerificationReport, verify_log
from bastion.context import Context
from bastion.errors import InvalidInput
from bastion.operation import operation

if TYPE_CHECKING:
    from bastion.workspace import Workspace


def query_events(ws: Workspace, ctx: Context, q: AuditQuery) -> list[AuditEvent]:
    """Events matching the filters."""
    with operation(ws, ctx, "audit.query", permission="audit:read", resource="audit/*") as op:
        events = ws.audit_store.query(q)
        op.details["returned"] = len(events)
        return events


def verify(ws: Workspace, ctx: Context) -> VerificationReport:
    """Verify the chain and checkpoints; raises AuditChainBroken naming bad events."""
    with operation(ws, ctx, "audit.verify", permission="audit:verify", resource="audit/*") as op:
        # Commit what this process has queued, so verification covers it, and pause the
        # writer thread so that large logs can be verified by forked workers.
        public = ws.audit_store.signer.public_key
        with ws.audit.quiesced():
            report = verify_log(ws.audit_store, public, ws.audit_store.signer.key_id)
        op.details.update({"events": report.events, "last_seq": report.last_seq})
        return report


def export(ws: Workspace, ctx: Context, fmt: str, q: AuditQuery) -> Iterator[str]:
    """Lines of the export (JSONL or OCSF), for the chosen events."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"unknown export format {fmt!r}", code="audit.bad_format", hint="Use jsonl or ocsf."
        )
    with operation(ws, ctx, "audit.export", permission="audit:export", resource="audit/*") as op:
        events = ws.audit_store.query(q, with_prev=True)
        op.details.update({"format": fmt, "events": len(events)})
    return export_lines(events, fmt)
