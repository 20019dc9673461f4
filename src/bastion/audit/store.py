"""The append-only, hash-chained audit log in the database.

Appends lock the single ``audit_head`` row first (an ``UPDATE`` that changes nothing),
which serializes writers on SQLite and PostgreSQL alike, then insert the whole batch in
one transaction: one commit (one fsync) for many events is what makes group commit fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, exc, func, insert, select, update

from bastion.audit.events import (
    GENESIS_HASH,
    AuditEvent,
    EventDraft,
    chain_hash,
    checkpoint_message,
)
from bastion.db.models import AuditCheckpointRow, AuditEventRow, AuditHeadRow
from bastion.errors import AuditError, InvalidInput

EVENTS = AuditEventRow.__table__
HEAD = AuditHeadRow.__table__
CHECKPOINTS = AuditCheckpointRow.__table__

_COLUMNS = (
    EVENTS.c.seq, EVENTS.c.ts_us, EVENTS.c.actor, EVENTS.c.action, EVENTS.c.resource,
    EVENTS.c.outcome, EVENTS.c.source, EVENTS.c.request_id, EVENTS.c.details,
    EVENTS.c.prev_hash, EVENTS.c.hash,
)


@dataclass(frozen=True)
class Signer:
    """The checkpoint signing key and its id."""

    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The matching verification key."""
        return self.private_key.public_key()


@dataclass(frozen=True)
class AuditQuery:
    """Filters for :meth:`AuditStore.query`; every field is optional and they AND together."""

    actor: str | None = None
    action: str | None = None
    resource: str | None = None
    outcome: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    limit: int | None = None


class AuditStore:
    """Append, read and checkpoint the chain. Verification lives in ``verify.py``."""

    def __init__(self, engine: Engine, signer: Signer, *, checkpoint_every: int = 1024) -> None:
        self._engine = engine
        self._signer = signer
        self._checkpoint_every = checkpoint_every

    @property
    def signer(self) -> Signer:
        """The checkpoint signer (its public key verifies checkpoints)."""
        return self._signer

    def append_batch(self, drafts: Sequence[EventDraft]) -> list[int]:
        """Append events in one durable transaction; return their sequence numbers."""
        if not drafts:
            return []
        try:
            with self._engine.begin() as conn:
                conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=HEAD.c.seq))
                head = conn.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).one()
                seq, prev = int(head.seq), str(head.hash)
                rows: list[dict[str, Any]] = []
                for draft in drafts:
                    seq += 1
                    details = draft.details_text()
                    digest = chain_hash(
                        prev, seq, draft.ts_us, draft.actor, draft.action, draft.resource,
                        draft.outcome, draft.source, draft.request_id, details,
                    )
                    rows.append({
                        "seq": seq, "ts_us": draft.ts_us, "actor": draft.actor,
                        "action": draft.action, "resource": draft.resource,
                        "outcome": draft.outcome, "source": draft.source,
                        "request_id": draft.request_id, "details": details,
                        "prev_hash": prev, "hash": digest,
                    })
                    prev = digest
                conn.execute(insert(EVENTS), rows)
                conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=prev))
                last_cp = conn.execute(select(func.max(CHECKPOINTS.c.seq))).scalar() or 0
                if seq - int(last_cp) >= self._checkpoint_every:
                    self._insert_checkpoint(conn, seq, prev, drafts[-1].ts_us)
        except exc.SQLAlchemyError as err:
            raise AuditError(f"audit append failed: {type(err).__name__}") from err
        return [int(r["seq"]) for r in rows]

    def _insert_checkpoint(self, conn: Any, seq: int, hash_: str, ts_us: int) -> None:
        signature = self._signer.private_key.sign(checkpoint_message(seq, hash_, ts_us))
        conn.execute(
            insert(CHECKPOINTS).values(
                seq=seq, hash=hash_, ts_us=ts_us, key_id=self._signer.key_id,
                signature=signature.hex(),
            )
        )

    def checkpoint(self, ts_us: int) -> int | None:
        """Sign the current head unless it is already signed; return the seq signed."""
        try:
            with self._engine.begin() as conn:
                conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=HEAD.c.seq))
                head = conn.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).one()
                if int(head.seq) == 0:
                    return None
                last_cp = conn.execute(select(func.max(CHECKPOINTS.c.seq))).scalar() or 0
                if int(last_cp) >= int(head.seq):
                    return None
                self._insert_checkpoint(conn, int(head.seq), str(head.hash), ts_us)
                return int(head.seq)
        except exc.SQLAlchemyError as err:
            raise AuditError(f"audit checkpoint failed: {type(err).__name__}") from err

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest event; (0, genesis) for an empty log."""
        with self._engine.connect() as conn:
            row = conn.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).one_or_none()
        return (int(row.seq), str(row.hash)) if row else (0, GENESIS_HASH)

    def iter_rows(self, batch: int = 50_000) -> Iterator[tuple[Any, ...]]:
        """Every event as a raw tuple in ``_COLUMNS`` order, in sequence order, streamed."""
        last = -1
        with self._engine.connect() as conn:
            while True:
                result = conn.execute(
                    select(*_COLUMNS).where(EVENTS.c.seq > last).order_by(EVENTS.c.seq).limit(batch)
                )
                rows = result.all()
                if not rows:
                    return
                for row in rows:
                    yield tuple(row)
                last = int(rows[-1][0])

    def checkpoints(self) -> list[AuditCheckpointRow]:
        """All checkpoints, oldest first."""
        with self._engine.connect() as conn:
            result = conn.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.seq))
            return [AuditCheckpointRow(**row._mapping) for row in result]

    def query(self, q: AuditQuery) -> list[AuditEvent]:
        """Events matching every given filter, oldest first.

        ``action`` and ``resource`` ending in ``*`` match as prefixes.
        """
        stmt = select(*_COLUMNS).order_by(EVENTS.c.seq)
        for column, value in (
            (EVENTS.c.actor, q.actor),
            (EVENTS.c.action, q.action),
            (EVENTS.c.resource, q.resource),
            (EVENTS.c.outcome, q.outcome),
        ):
            if value is None:
                continue
            if value.endswith("*"):
                prefix = value[:-1]
                escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                stmt = stmt.where(column.like(escaped + "%", escape="\\"))
            else:
                stmt = stmt.where(column == value)
        if q.since_us is not None:
            stmt = stmt.where(EVENTS.c.ts_us >= q.since_us)
        if q.until_us is not None:
            stmt = stmt.where(EVENTS.c.ts_us <= q.until_us)
        if q.limit is not None:
            if q.limit <= 0:
                raise InvalidInput("limit must be positive", code="audit.bad_query")
            stmt = stmt.limit(q.limit)
        with self._engine.connect() as conn:
            return [AuditEvent(*row) for row in conn.execute(stmt)]


def verify_checkpoint_signature(
    public_key: Ed25519PublicKey, seq: int, hash_: str, ts_us: int, signature_hex: str
) -> bool:
    """True when the checkpoint signature is valid for that key."""
    try:
        public_key.verify(bytes.fromhex(signature_hex), checkpoint_message(seq, hash_, ts_us))
    except (InvalidSignature, ValueError):
        return False
    return True
