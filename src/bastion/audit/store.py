"""The append-only, hash-chained audit log in the database.

Appends lock the single ``audit_head`` row first (an ``UPDATE`` that changes nothing),
which serializes writers on SQLite and PostgreSQL alike, then insert the whole batch in
one transaction: one commit (one fsync) for many events is what makes group commit fast.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    exc,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from bastion.audit.events import (
    GENESIS_HASH,
    AuditEvent,
    EventDraft,
    chain_hash,
    checkpoint_message,
)
from bastion.db.engine import read_connection
from bastion.db.models import AuditCheckpointRow, AuditEventRow, AuditHeadRow
from bastion.errors import AuditError, InvalidInput

EVENTS = cast(Table, AuditEventRow.__table__)
HEAD = cast(Table, AuditHeadRow.__table__)
CHECKPOINTS = cast(Table, AuditCheckpointRow.__table__)
QUERY_FIELDS = ("actor", "action", "resource", "outcome")
# Rows per INSERT statement: 4 bound values each, well under SQLite's 32,766 limit.
INSERT_CHUNK = 2048


def field_sql(dialect: str, key: str) -> str:
    """SQL reading one field from the body; matches the expression indexes exactly."""
    if key not in QUERY_FIELDS:
        raise ValueError(f"not a queryable audit field: {key}")
    if dialect == "postgresql":
        return f"((audit_events.body::json) ->> '{key}')"
    return f"json_extract(audit_events.body, '$.{key}')"


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
    """Filters for :meth:`AuditStore.query`; every field is optional and they AND together.

    ``action`` and ``resource`` ending in ``*`` match as prefixes.
    """

    actor: str | None = None
    action: str | None = None
    resource: str | None = None
    outcome: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    limit: int | None = None


class AuditStore:
    """Append, read and checkpoint the chain. Verification lives in ``verify.py``."""

    def __init__(
        self,
        engine: Engine,
        signer: Signer,
        *,
        checkpoint_every: int = 1024,
        anchor_path: Path | None = None,
    ) -> None:
        self._engine = engine
        self._signer = signer
        self._checkpoint_every = checkpoint_every
        self._anchor_path = anchor_path
        self._mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._insert_sql: dict[int, str] = {}

    def _insert_statement(self, rows: int) -> str:
        """A multi-row INSERT for ``rows`` rows (cached per size).

        One statement per chunk instead of one per row: the driver then releases the
        GIL once per chunk, not once per event, so producers do not starve the writer.
        Only the driver's placeholder is interpolated; every value is bound.
        """
        sql = self._insert_sql.get(rows)
        if sql is None:
            m = self._mark
            values = ",".join([f"({m},{m},{m},{m})"] * rows)
            sql = f"INSERT INTO audit_events (seq, ts_us, body, hash) VALUES {values}"  # noqa: S608
            self._insert_sql[rows] = sql
        return sql

    @property
    def signer(self) -> Signer:
        """The checkpoint signer (its public key verifies checkpoints)."""
        return self._signer

    @property
    def anchor_path(self) -> Path | None:
        """The local file that copies every checkpoint this host signed, if any."""
        return self._anchor_path

    @property
    def engine(self) -> Engine:
        """The database engine (verification workers open their own from its URL)."""
        return self._engine

    def _lock_head(self, conn: Connection) -> tuple[int, bytes, int]:
        """Take the chain lock; return (head seq, head hash, newest checkpoint seq).

        One round trip: every statement releases and re-takes the GIL, and under load
        each re-take can wait for busy producer threads.
        """
        row = conn.execute(
            update(HEAD)
            .where(HEAD.c.id == 1)
            .values(seq=HEAD.c.seq)
            .returning(HEAD.c.seq, HEAD.c.hash, HEAD.c.checkpoint_seq)
        ).one()
        return int(row.seq), bytes(row.hash), int(row.checkpoint_seq)

    def append_batch(self, drafts: Sequence[EventDraft]) -> list[int]:
        """Append events in one durable transaction; return their sequence numbers."""
        return self.append_encoded([(d.ts_us, d.body()) for d in drafts])

    def append_encoded(self, items: Sequence[tuple[int, str]]) -> list[int]:
        """Append ``(ts_us, body)`` pairs whose bodies are already canonical JSON.

        The group-commit writer encodes bodies in the producers' threads, so the writer
        holding the chain lock only hashes and inserts.
        """
        if not items:
            return []
        signed: dict[str, Any] | None = None
        try:
            with self._engine.begin() as conn:
                first, prev, last_cp = self._lock_head(conn)
                seq = first
                rows: list[tuple[int, int, str, bytes]] = []
                for ts_us, body in items:
                    seq += 1
                    prev = chain_hash(prev, seq, ts_us, body)
                    rows.append((seq, ts_us, body, prev))
                for start in range(0, len(rows), INSERT_CHUNK):
                    chunk = rows[start : start + INSERT_CHUNK]
                    flat = tuple(value for row in chunk for value in row)
                    conn.exec_driver_sql(self._insert_statement(len(chunk)), flat)
                if seq - last_cp >= self._checkpoint_every:
                    signed = self._insert_checkpoint(conn, seq, prev, items[-1][0])
                    last_cp = seq
                conn.execute(
                    update(HEAD)
                    .where(HEAD.c.id == 1)
                    .values(seq=seq, hash=prev, checkpoint_seq=last_cp)
                )
        except exc.SQLAlchemyError as err:
            raise AuditError(f"audit append failed: {type(err).__name__}") from err
        if signed is not None:
            self._anchor(signed)
        return list(range(first + 1, seq + 1))

    def _insert_checkpoint(
        self, conn: Connection, seq: int, digest: bytes, ts_us: int
    ) -> dict[str, Any]:
        signature = self._signer.private_key.sign(checkpoint_message(seq, digest.hex(), ts_us))
        record = {
            "seq": seq,
            "hash": digest.hex(),
            "ts_us": ts_us,
            "key_id": self._signer.key_id,
            "signature": signature.hex(),
        }
        conn.execute(insert(CHECKPOINTS).values(**record))
        return record

    def _anchor(self, record: dict[str, Any]) -> None:
        """Copy a committed checkpoint to the local anchor file (append, fsync).

        Someone who can write the database but not this file cannot delete checkpoints
        unnoticed. Written after the commit: a crash in between only loses an anchor.
        """
        if self._anchor_path is None:
            return
        line = (json.dumps(record, sort_keys=True) + "\n").encode("ascii")
        try:
            fd = os.open(self._anchor_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as err:
            raise AuditError(f"could not write the checkpoint anchor: {err}") from err

    def anchors(self) -> list[dict[str, Any]]:
        """Checkpoints recorded in the local anchor file (empty if there is none)."""
        if self._anchor_path is None or not self._anchor_path.exists():
            return []
        out: list[dict[str, Any]] = []
        for number, line in enumerate(self._anchor_path.read_text("ascii").splitlines(), 1):
            try:
                record = json.loads(line)
                out.append(
                    {
                        "seq": int(record["seq"]),
                        "hash": str(record["hash"]),
                        "ts_us": int(record["ts_us"]),
                        "key_id": str(record["key_id"]),
                        "signature": str(record["signature"]),
                    }
                )
            except (ValueError, KeyError, TypeError):
                out.append({"seq": -number, "hash": "", "ts_us": 0, "key_id": "", "signature": ""})
        return out

    def checkpoint(self, ts_us: int) -> int | None:
        """Sign the current head unless it is already signed; return the seq signed."""
        try:
            with self._engine.begin() as conn:
                seq, digest, last_cp = self._lock_head(conn)
                if seq == 0 or last_cp >= seq:
                    return None
                record = self._insert_checkpoint(conn, seq, digest, ts_us)
                conn.execute(update(HEAD).where(HEAD.c.id == 1).values(checkpoint_seq=seq))
        except exc.SQLAlchemyError as err:
            raise AuditError(f"audit checkpoint failed: {type(err).__name__}") from err
        self._anchor(record)
        return seq

    def head(self) -> tuple[int, bytes]:
        """(seq, hash) of the newest event; (0, genesis) for an empty log."""
        with read_connection(self._engine) as conn:
            row = conn.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).one_or_none()
        return (int(row.seq), bytes(row.hash)) if row else (0, GENESIS_HASH)

    def head_checkpoint_seq(self) -> int:
        """The newest checkpoint as the head row records it (a cache verification checks)."""
        with read_connection(self._engine) as conn:
            value = conn.execute(select(HEAD.c.checkpoint_seq).where(HEAD.c.id == 1)).scalar()
        return int(value or 0)

    def iter_rows(self, start: int = 1, stop: int | None = None) -> Iterator[Sequence[Any]]:
        """``(seq, ts_us, body, hash)`` for every event in ``[start, stop]``, in order."""
        return iter_event_rows(self._engine, start, stop)

    def hash_before(self, seq: int) -> tuple[int, bytes] | None:
        """(seq, hash) of the nearest stored event before ``seq``; None if there is none."""
        with read_connection(self._engine) as conn:
            row = conn.execute(
                select(EVENTS.c.seq, EVENTS.c.hash)
                .where(EVENTS.c.seq < seq)
                .order_by(EVENTS.c.seq.desc())
                .limit(1)
            ).one_or_none()
        return (int(row.seq), bytes(row.hash)) if row else None

    def seq_bounds(self) -> tuple[int, int, int]:
        """(lowest seq, highest seq, count) of stored events."""
        with read_connection(self._engine) as conn:
            row = conn.execute(
                select(func.min(EVENTS.c.seq), func.max(EVENTS.c.seq), func.count())
            ).one()
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    def checkpoints(self) -> list[AuditCheckpointRow]:
        """All checkpoints, oldest first."""
        with read_connection(self._engine) as conn:
            result = conn.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.seq))
            return [AuditCheckpointRow(**row._mapping) for row in result]

    def _field(self, key: str) -> ColumnElement[Any]:
        return literal_column(field_sql(self._engine.dialect.name, key))

    def query(self, q: AuditQuery, *, with_prev: bool = False) -> list[AuditEvent]:
        """Events matching every given filter, oldest first.

        ``with_prev`` also fetches each event's predecessor hash, so that an export of any
        subset can be re-verified event by event.
        """
        prev = EVENTS.alias("prev")
        prev_hash = prev.c.hash if with_prev else literal_column("NULL")
        stmt = select(
            EVENTS.c.seq, EVENTS.c.ts_us, EVENTS.c.body, EVENTS.c.hash, prev_hash
        ).order_by(EVENTS.c.seq)
        if with_prev:
            stmt = stmt.select_from(EVENTS.outerjoin(prev, prev.c.seq == EVENTS.c.seq - 1))
        for key in QUERY_FIELDS:
            value = getattr(q, key)
            if value is None:
                continue
            column = self._field(key)
            if key in ("action", "resource") and value.endswith("*"):
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
        with read_connection(self._engine) as conn:
            return [AuditEvent.from_row(*row) for row in conn.execute(stmt)]


def iter_event_rows(
    engine: Engine, start: int = 1, stop: int | None = None, batch: int = 65_536
) -> Iterator[Sequence[Any]]:
    """Stream ``(seq, ts_us, body, hash)`` rows in sequence order, in bounded batches."""
    last = start - 1
    with read_connection(engine) as conn:
        while True:
            stmt = select(EVENTS.c.seq, EVENTS.c.ts_us, EVENTS.c.body, EVENTS.c.hash).where(
                EVENTS.c.seq > last
            )
            if stop is not None:
                stmt = stmt.where(EVENTS.c.seq <= stop)
            # The driver cursor's plain tuples: building Row objects would double the cost.
            rows = conn.execute(stmt.order_by(EVENTS.c.seq).limit(batch)).cursor.fetchall()
            if not rows:
                return
            yield from rows
            last = int(rows[-1][0])


def verify_checkpoint_signature(
    public_key: Ed25519PublicKey, seq: int, hash_hex: str, ts_us: int, signature_hex: str
) -> bool:
    """True when the checkpoint signature is valid for that key."""
    try:
        public_key.verify(bytes.fromhex(signature_hex), checkpoint_message(seq, hash_hex, ts_us))
    except (InvalidSignature, ValueError):
        return False
    return True
