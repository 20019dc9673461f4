"""The audit event and its hash-chain encoding (format: docs/formats/audit-chain.md)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

CHAIN_VERSION = "bastion-audit-v1"
GENESIS_HASH = "0" * 64


class Outcome(StrEnum):
    """How an operation ended."""

    SUCCESS = "success"
    DENIED = "denied"
    ERROR = "error"


@dataclass(frozen=True)
class EventDraft:
    """An event before it has a place in the chain."""

    ts_us: int
    actor: str
    action: str
    resource: str
    outcome: str
    source: str
    request_id: str
    details: dict[str, Any] = field(default_factory=dict)

    def details_text(self) -> str:
        """Canonical JSON of the details: sorted keys, no spaces, UTF-8."""
        return canonical_json(self.details)


@dataclass(frozen=True)
class AuditEvent:
    """A stored event: its sequence number and the chain hashes around it."""

    seq: int
    ts_us: int
    actor: str
    action: str
    resource: str
    outcome: str
    source: str
    request_id: str
    details: str
    prev_hash: str
    hash: str

    def details_dict(self) -> dict[str, Any]:
        """Details parsed back from their canonical JSON."""
        value = json.loads(self.details) if self.details else {}
        return value if isinstance(value, dict) else {"value": value}

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (details expanded)."""
        return {
            "seq": self.seq,
            "ts_us": self.ts_us,
            "actor": self.actor,
            "action": self.action,
            "resource": self.resource,
            "outcome": self.outcome,
            "source": self.source,
            "request_id": self.request_id,
            "details": self.details_dict(),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(
    prev_hash: str,
    seq: int,
    ts_us: int,
    actor: str,
    action: str,
    resource: str,
    outcome: str,
    source: str,
    request_id: str,
    details: str,
) -> str:
    """SHA-256 over the netstring encoding of the version tag and every field.

    Netstrings (``<length>:<text>,``) make the encoding injective, so no two different
    events share an encoding, whatever characters their fields contain.
    """
    parts = (
        CHAIN_VERSION, prev_hash, str(seq), str(ts_us), actor, action, resource,
        outcome, source, request_id, details,
    )
    encoded = "".join([f"{len(p)}:{p}," for p in parts]).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def checkpoint_message(seq: int, hash_: str, ts_us: int) -> bytes:
    """The bytes an Ed25519 checkpoint signature covers."""
    return f"bastion-audit-checkpoint-v1\n{seq}\n{hash_}\n{ts_us}\n".encode("ascii")
