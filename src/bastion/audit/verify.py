"""Verify the chain: recompute every hash, check every link and every signed checkpoint.

Verification raises :class:`AuditChainBroken` naming each bad event; it never returns a
bool that a caller could forget to check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bastion.audit.events import GENESIS_HASH, chain_hash
from bastion.audit.store import AuditStore, verify_checkpoint_signature
from bastion.errors import AuditChainBroken

MAX_REPORTED = 100


@dataclass(frozen=True)
class Issue:
    """One problem found, tied to the sequence number it concerns."""

    seq: int
    kind: str
    message: str


@dataclass
class VerificationReport:
    """What verification covered and what it found."""

    events: int = 0
    last_seq: int = 0
    head_hash: str = GENESIS_HASH
    checkpoints: int = 0
    last_checkpoint_seq: int = 0
    issues: list[Issue] = field(default_factory=list)
    issue_count: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return self.issue_count == 0

    def add(self, seq: int, kind: str, message: str) -> None:
        """Record an issue (the first MAX_REPORTED are kept in full)."""
        self.issue_count += 1
        if len(self.issues) < MAX_REPORTED:
            self.issues.append(Issue(seq, kind, message))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


def verify_log(store: AuditStore, public_key: Ed25519PublicKey, key_id: str) -> VerificationReport:
    """Check the whole log; return the report if intact, else raise AuditChainBroken."""
    report = scan_log(store, public_key, key_id)
    if not report.ok:
        first = report.issues[0]
        raise AuditChainBroken(
            f"audit log verification failed: {report.issue_count} problem(s); "
            f"first at event {first.seq}: {first.message}",
            details=report.as_dict(),
        )
    return report


def scan_log(store: AuditStore, public_key: Ed25519PublicKey, key_id: str) -> VerificationReport:
    """Walk the chain and collect every issue without raising."""
    report = VerificationReport()
    checkpoints = store.checkpoints()
    wanted = {cp.seq for cp in checkpoints}
    seen_hash: dict[int, str] = {}

    expected, prev_hash, prev_seq = 1, GENESIS_HASH, 0
    hash_fn = chain_hash
    for seq, ts_us, actor, action, resource, outcome, source, request_id, details, stored_prev, stored in (
        store.iter_rows()
    ):
        if seq != expected:
            report.add(
                expected, "missing",
                f"events {expected}..{seq - 1} are missing: deleted from the log",
            )
        if stored_prev != prev_hash:
            report.add(
                seq, "broken_link",
                f"link from event {prev_seq} to event {seq} is broken: an event between them "
                "was deleted, inserted or reordered, or event "
                f"{prev_seq} was modified and re-hashed",
            )
        if hash_fn(
            stored_prev, seq, ts_us, actor, action, resource, outcome, source, request_id, details
        ) != stored:
            report.add(seq, "modified", f"event {seq} does not match its hash: it was modified")
        if seq in wanted:
            seen_hash[seq] = stored
        report.events += 1
        prev_hash, prev_seq, expected = stored, seq, seq + 1

    report.last_seq = prev_seq
    report.head_hash = prev_hash
    head_seq, head_hash = store.head()
    if head_seq != prev_seq or head_hash != prev_hash:
        report.add(
            prev_seq, "head_mismatch",
            f"the log ends at event {prev_seq} but its head records event {head_seq}: "
            "events at the end were deleted or added behind the writer's back",
        )

    for cp in checkpoints:
        report.checkpoints += 1
        report.last_checkpoint_seq = max(report.last_checkpoint_seq, cp.seq)
        if cp.key_id != key_id or not verify_checkpoint_signature(
            public_key, cp.seq, cp.hash, cp.ts_us, cp.signature
        ):
            report.add(cp.seq, "bad_checkpoint", f"checkpoint at event {cp.seq} has an invalid signature")
            continue
        if cp.seq not in seen_hash:
            report.add(
                cp.seq, "truncated",
                f"signed checkpoint names event {cp.seq}, which is no longer in the log",
            )
        elif seen_hash[cp.seq] != cp.hash:
            report.add(
                cp.seq, "rewritten",
                f"the chain at event {cp.seq} differs from its signed checkpoint: "
                "events up to it were rewritten",
            )
    return report
