"""The audit event and its hash-chain encoding (format: docs/formats/audit-chain.md).

A stored event is ``(seq, ts_us, body, hash)``. ``body`` is the canonical JSON of the
event's fields (sorted keys, no whitespace, UTF-8); the chain hash of event *n* is::

    SHA-256( b"bastion-audit-v1\\n" || b"<seq> <ts_us> " || hash(n-1) || body )

with ``hash(0)`` 32 zero bytes. Verification hashes exactly the stored bytes, so it never
re-serializes anything, and queries read the same body through JSON expression indexes:
there is no second copy of a field that could be altered without breaking the chain.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder as _json_c
from dataclasses import dataclass, field
from enum import StrEnum
from json.encoder import encode_basestring
from typing import Any

CHAIN_VERSION = b"bastion-audit-v1\n"
GENESIS_HASH = bytes(32)
BODY_FIELDS = ("action", "actor", "details", "outcome", "request_id", "resource", "source")

_DETAILS_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False
)
# JSONEncoder.encode() builds a new C encoder on every call; on the append hot path we
# build it once. Same settings as _DETAILS_ENCODER, so the output is identical.
_MAKE_ENCODER = getattr(_json_c, "c_make_encoder", None)
_C_ENCODER = (
    _MAKE_ENCODER({}, str, encode_basestring, None, ":", ",", True, False, False)
    if _MAKE_ENCODER is not None
    else None
)


def _encode_details(details: dict[str, Any]) -> str:
    if not details:
        return "{}"
    try:
        if _C_ENCODER is not None:
            return "".join(_C_ENCODER(details, 0))
        return _DETAILS_ENCODER.encode(details)
    except (ValueError, TypeError):
        # NaN, infinity or mixed key types: record them as strings rather than lose the event.
        return _DETAILS_ENCODER.encode(_finite(details))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class Outcome(StrEnum):
    """How an operation ended."""

    SUCCESS = "success"
    DENIED = "denied"
    ERROR = "error"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace."""
    return _DETAILS_ENCODER.encode(_finite(value))


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

    def body(self) -> str:
        """Canonical JSON of every field but seq and time (keys in sorted order)."""
        # Written out by hand because it is on the hot path; equal to canonical_json().
        esc = encode_basestring
        text = (
            f'{{"action":{esc(self.action)},"actor":{esc(self.actor)},'
            f'"details":{_encode_details(self.details)},"outcome":{esc(self.outcome)},'
            f'"request_id":{esc(self.request_id)},"resource":{esc(self.resource)},'
            f'"source":{esc(self.source)}}}'
        )
        if not text.isascii():
            # Lone surrogates (possible in attacker-supplied names) cannot be stored as
            # UTF-8; replacing them keeps one bad field from failing a whole batch.
            text = text.encode("utf-8", "replace").decode("utf-8")
        return text


def chain_hash(prev: bytes, seq: int, ts_us: int, body: str) -> bytes:
    """The 32-byte chain hash of one event."""
    return hashlib.sha256(
        CHAIN_VERSION + b"%d %d " % (seq, ts_us) + prev + body.encode("utf-8")
    ).digest()


@dataclass(frozen=True)
class AuditEvent:
    """A stored event, fields parsed from its body."""

    seq: int
    ts_us: int
    actor: str
    action: str
    resource: str
    outcome: str
    source: str
    request_id: str
    details: str
    hash: str
    body: str = ""
    prev_hash: str | None = None

    @classmethod
    def from_row(
        cls, seq: int, ts_us: int, body: str, digest: bytes, prev: bytes | None = None
    ) -> AuditEvent:
        """Parse a stored row (``prev``: the predecessor's hash, when it was fetched)."""
        doc = json.loads(body)
        if prev is None and seq == 1:
            prev = GENESIS_HASH
        return cls(
            seq=int(seq),
            ts_us=int(ts_us),
            actor=doc["actor"],
            action=doc["action"],
            resource=doc["resource"],
            outcome=doc["outcome"],
            source=doc["source"],
            request_id=doc["request_id"],
            details=canonical_json(doc.get("details", {})),
            hash=bytes(digest).hex(),
            body=body,
            prev_hash=bytes(prev).hex() if prev is not None else None,
        )

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
            "hash": self.hash,
            "prev_hash": self.prev_hash,
            # The exact hashed text: with seq, ts_us and prev_hash it re-verifies the event.
            "body": self.body,
        }


def checkpoint_message(seq: int, hash_hex: str, ts_us: int) -> bytes:
    """The bytes an Ed25519 checkpoint signature covers."""
    return f"bastion-audit-checkpoint-v1\n{seq}\n{hash_hex}\n{ts_us}\n".encode("ascii")
