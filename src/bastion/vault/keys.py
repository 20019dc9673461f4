"""Key lifecycle: KEK versions (list, rotate, retire, destroy) and per-object data keys.

Envelope encryption: every object has its own random 256-bit data key (DEK); the DEK is
stored only wrapped under a versioned key-encryption key (KEK) held by the configured
KeyProvider. Rotation makes a new KEK version and re-wraps DEKs in batches, one
transaction per batch, without touching the encrypted objects; an interrupted rotation
is finished with :func:`resume_rotation`. Old versions keep unwrapping until retired;
a version that still wraps any DEK cannot be retired or destroyed.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session

from bastion.context import Context
from bastion.crypto.keyring import MasterSecret
from bastion.crypto.providers import KeyProvider
from bastion.crypto.wrapping import wrap_aad
from bastion.db.engine import transaction
from bastion.db.models import DataKeyRow, KekVersionRow
from bastion.errors import Conflict, InvalidInput, KeyringError, NotFound
from bastion.operation import operation
from bastion.workspace import Workspace

ACTIVE = "active"
ENABLED = "enabled"
RETIRED = "retired"
DESTROYED = "destroyed"
DEFAULT_BATCH = 256
# Any constant will do: it names the lock that serializes KEK version creation on PostgreSQL.
_PG_KEK_LOCK = 0x6B656B5F6C6F636B


@dataclass(frozen=True)
class KekVersionInfo:
    """A KEK version as ``bastion keyring list`` shows it."""

    provider: str
    version: int
    algorithm: str
    state: str
    created_at: datetime
    created_by: str
    retired_at: datetime | None
    destroyed_at: datetime | None
    data_keys: int


@dataclass(frozen=True)
class RotationResult:
    """Outcome of a rotation or of resuming one."""

    provider: str
    version: int
    algorithm: str
    rewrapped: int
    remaining: int


def _lock_kek_versions(session: Session) -> None:
    # SQLite write transactions are already serialized (BEGIN IMMEDIATE); PostgreSQL needs
    # a lock so that two processes never make key material for the same version number.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_KEK_LOCK})


def _active(session: Session, provider: str) -> KekVersionRow | None:
    return session.scalars(
        select(KekVersionRow).where(
            KekVersionRow.provider == provider, KekVersionRow.state == ACTIVE
        )
    ).one_or_none()


def _new_version(
    session: Session, provider: KeyProvider, algorithm: str, actor: str, now: datetime
) -> KekVersionRow:
    if algorithm not in provider.algorithms:
        raise InvalidInput(
            f"key provider {provider.name!r} cannot make {algorithm!r} keys",
            code="keyring.unknown_algorithm",
            hint=f"Use one of: {', '.join(sorted(provider.algorithms))}.",
        )
    latest = session.scalar(
        select(func.max(KekVersionRow.version)).where(KekVersionRow.provider == provider.name)
    )
    version = (latest or 0) + 1
    # Material first, row second: a crash in between leaves orphan material that no data
    # key references and that the next attempt at this version number replaces.
    provider.create_version(version, algorithm)
    # Exactly one version wraps new data keys, whichever provider holds it: after a
    # switch of provider, the old provider's version is demoted too, so it can be retired.
    for row in session.scalars(select(KekVersionRow).where(KekVersionRow.state == ACTIVE)):
        row.state = ENABLED
    row = KekVersionRow(
        provider=provider.name,
        version=version,
        algorithm=algorithm,
        state=ACTIVE,
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def _ensure_active(ws: Workspace, ctx: Context) -> KekVersionRow:
    provider = ws.key_provider
    with transaction(ws.sessions) as session:
        row = _active(session, provider.name)
        if row is not None:
            return row
    # First use of this provider: make version 1, audited like any key operation.
    with operation(ws, ctx, "keyring.create_version", permission=None) as op:
        with transaction(ws.sessions) as session:
            _lock_kek_versions(session)
            row = _active(session, provider.name)
            if row is None:
                row = _new_version(
                    session,
                    provider,
                    ws.settings.kek_algorithm,
                    ctx.principal.name,
                    ctx.clock.now(),
                )
                op.details.update(version=row.version, algorithm=row.algorithm)
            op.resource = f"kek/{provider.name}/v{row.version}"
            op.details["provider"] = provider.name
        return row


def new_data_key(ws: Workspace, ctx: Context) -> tuple[DataKeyRow, bytes]:
    """A fresh data key and its (unsaved) row, wrapped under the active KEK version."""
    active = _ensure_active(ws, ctx)
    key_id = uuid.uuid4().hex
    dek = secrets.token_bytes(32)
    provider = ws.key_provider
    wrapped = provider.wrap(active.version, dek, wrap_aad(key_id, provider.name, active.version))
    row = DataKeyRow(
        id=key_id,
        provider=provider.name,
        kek_version=active.version,
        wrap_algorithm=active.algorithm,
        wrapped=wrapped,
        created_at=ctx.clock.now(),
    )
    return row, dek


def ensure_wrapped_under_live_kek(
    ws: Workspace, session: Session, row: DataKeyRow, dek: bytes
) -> None:
    """Re-wrap a not yet committed data key if its KEK version left service meanwhile.

    An add wraps its data key before the (possibly long) encryption and commits after
    it. The KEK row is read with a share lock, which a concurrent ``retire`` (it takes
    an update lock) waits for or is waited on by: either retire sees this key and
    refuses, or this check sees the version retired and re-wraps under the active one.
    """
    kek = session.scalars(
        select(KekVersionRow)
        .where(KekVersionRow.provider == row.provider, KekVersionRow.version == row.kek_version)
        .with_for_update(read=True)
    ).one_or_none()
    if kek is not None and kek.state in (ACTIVE, ENABLED):
        return
    provider = ws.key_provider
    active = _active(session, provider.name)
    if active is None:
        raise KeyringError("no active KEK version", code="keyring.no_active_version")
    row.wrapped = provider.wrap(
        active.version, dek, wrap_aad(row.id, provider.name, active.version)
    )
    row.provider = provider.name
    row.kek_version = active.version
    row.wrap_algorithm = active.algorithm


def unwrap_data_key(ws: Workspace, session: Session, row: DataKeyRow) -> bytes:
    """The plaintext data key of ``row``; refuses shredded keys and retired KEK versions."""
    if row.wrapped is None:
        raise NotFound("this object was crypto-shredded", code="vault.shredded")
    kek = session.scalars(
        select(KekVersionRow).where(
            KekVersionRow.provider == row.provider, KekVersionRow.version == row.kek_version
        )
    ).one_or_none()
    if kek is None or kek.state in (RETIRED, DESTROYED):
        state = "unknown" if kek is None else kek.state
        raise KeyringError(
            f"KEK {row.provider} v{row.kek_version} is {state}",
            code="keyring.version_retired",
        )
    provider = ws.provider(row.provider)
    return provider.unwrap(
        row.kek_version, row.wrapped, wrap_aad(row.id, row.provider, row.kek_version)
    )


def shred_data_key(row: DataKeyRow, now: datetime) -> None:
    """Destroy the wrapped key: the object's ciphertext, wherever copied, is now noise."""
    row.wrapped = None
    row.shredded_at = now


def _count_by_version(session: Session) -> dict[tuple[str, int], int]:
    rows = session.execute(
        select(DataKeyRow.provider, DataKeyRow.kek_version, func.count())
        .where(DataKeyRow.wrapped.is_not(None))
        .group_by(DataKeyRow.provider, DataKeyRow.kek_version)
    )
    return {(provider, version): count for provider, version, count in rows}


def list_versions(ws: Workspace, ctx: Context) -> list[KekVersionInfo]:
    """Every KEK version with its state and how many live data keys it wraps."""
    with operation(ws, ctx, "keyring.list", permission="keyring:manage", resource="kek"):
        with transaction(ws.sessions) as session:
            counts = _count_by_version(session)
            rows = session.scalars(
                select(KekVersionRow).order_by(KekVersionRow.provider, KekVersionRow.version)
            ).all()
            return [
                KekVersionInfo(
                    r.provider,
                    r.version,
                    r.algorithm,
                    r.state,
                    r.created_at,
                    r.created_by,
                    r.retired_at,
                    r.destroyed_at,
                    counts.get((r.provider, r.version), 0),
                )
                for r in rows
            ]


def _not_yet_on(active: KekVersionRow) -> ColumnElement[bool]:
    """Live data keys that a rotation still has to move onto ``active``."""
    return DataKeyRow.wrapped.is_not(None) & (
        (DataKeyRow.provider != active.provider) | (DataKeyRow.kek_version != active.version)
    )


def _pending(session: Session, active: KekVersionRow) -> int:
    count = session.scalar(select(func.count()).select_from(DataKeyRow).where(_not_yet_on(active)))
    return int(count or 0)


def _rewrap(ws: Workspace, batch_size: int) -> tuple[KekVersionRow, int, int]:
    """Move every live data key onto the active version, one transaction per batch."""
    provider = ws.key_provider
    done = 0
    while True:
        with transaction(ws.sessions) as session:
            active = _active(session, provider.name)
            if active is None:
                raise KeyringError("no active KEK version", code="keyring.no_active_version")
            batch = session.scalars(
                select(DataKeyRow)
                .where(_not_yet_on(active))
                .order_by(DataKeyRow.id)
                .limit(batch_size)
                .with_for_update()
            ).all()
            if not batch:
                return active, done, 0
            for row in batch:
                dek = unwrap_data_key(ws, session, row)
                row.wrapped = provider.wrap(
                    active.version, dek, wrap_aad(row.id, provider.name, active.version)
                )
                row.provider = provider.name
                row.kek_version = active.version
                row.wrap_algorithm = active.algorithm
        done += len(batch)


def _check_batch(batch_size: int) -> None:
    if not 1 <= batch_size <= 100_000:
        raise InvalidInput("batch size must be between 1 and 100000", code="keyring.bad_batch")


def rotate(
    ws: Workspace, ctx: Context, *, algorithm: str | None = None, batch_size: int = DEFAULT_BATCH
) -> RotationResult:
    """Make a new active KEK version and re-wrap every data key under it."""
    _check_batch(batch_size)
    provider = ws.key_provider
    alg = algorithm or ws.settings.kek_algorithm
    with operation(
        ws, ctx, "keyring.rotate", permission="keyring:manage", resource=f"kek/{provider.name}"
    ) as op:
        with transaction(ws.sessions) as session:
            _lock_kek_versions(session)
            row = _new_version(session, provider, alg, ctx.principal.name, ctx.clock.now())
            op.resource = f"kek/{provider.name}/v{row.version}"
            op.details.update(provider=provider.name, version=row.version, algorithm=alg)
        try:
            active, done, _ = _rewrap(ws, batch_size)
        finally:
            with transaction(ws.sessions) as session:
                current = _active(session, provider.name)
                op.details["remaining"] = _pending(session, current) if current else 0
        op.details["rewrapped"] = done
        return RotationResult(provider.name, active.version, active.algorithm, done, 0)


def resume_rotation(
    ws: Workspace, ctx: Context, *, batch_size: int = DEFAULT_BATCH
) -> RotationResult:
    """Finish an interrupted rotation: re-wrap what is still under older versions."""
    _check_batch(batch_size)
    provider = ws.key_provider
    with operation(
        ws, ctx, "keyring.rewrap", permission="keyring:manage", resource=f"kek/{provider.name}"
    ) as op:
        with transaction(ws.sessions) as session:
            before = _active(session, provider.name)
            if before is None:
                raise NotFound(
                    "no KEK version yet; nothing to resume", code="keyring.no_active_version"
                )
            op.details["pending"] = _pending(session, before)
        active, done, _ = _rewrap(ws, batch_size)
        op.resource = f"kek/{provider.name}/v{active.version}"
        op.details.update(provider=provider.name, version=active.version, rewrapped=done)
        return RotationResult(provider.name, active.version, active.algorithm, done, 0)


def retire(
    ws: Workspace,
    ctx: Context,
    version: int,
    *,
    destroy: bool = False,
    provider_name: str | None = None,
) -> KekVersionInfo:
    """Retire a KEK version (and with ``destroy`` erase its material).

    Refused for the active version and for any version that still wraps a live data
    key: retiring it would make data unreadable by accident.
    """
    name = provider_name or ws.key_provider.name
    action = "keyring.destroy" if destroy else "keyring.retire"
    with operation(
        ws, ctx, action, permission="keyring:manage", resource=f"kek/{name}/v{version}"
    ) as op:
        with transaction(ws.sessions) as session:
            _lock_kek_versions(session)
            row = session.scalars(
                select(KekVersionRow)
                .where(KekVersionRow.provider == name, KekVersionRow.version == version)
                .with_for_update()
            ).one_or_none()
            if row is None:
                raise NotFound(
                    f"no KEK version {version} for provider {name!r}",
                    code="keyring.version_not_found",
                )
            if row.state == ACTIVE:
                raise Conflict(
                    f"KEK v{version} is the active version",
                    code="keyring.version_active",
                    hint="Rotate first ('bastion keyring rotate'), then retire the old version.",
                )
            if row.state == DESTROYED:
                raise Conflict(
                    f"KEK v{version} is already destroyed", code="keyring.version_destroyed"
                )
            in_use = _count_by_version(session).get((name, version), 0)
            op.details["data_keys"] = in_use
            if in_use:
                raise Conflict(
                    f"KEK v{version} still protects {in_use} data key(s)",
                    code="keyring.version_in_use",
                    hint="Finish the rotation with 'bastion keyring rotate --resume' first.",
                )
            now = ctx.clock.now()
            if row.state != RETIRED:
                row.state = RETIRED
                row.retired_at = now
            if destroy:
                ws.provider(name).destroy_version(version)
                row.state = DESTROYED
                row.destroyed_at = now
            op.details["state"] = row.state
            return KekVersionInfo(
                row.provider,
                row.version,
                row.algorithm,
                row.state,
                row.created_at,
                row.created_by,
                row.retired_at,
                row.destroyed_at,
                0,
            )


def rekey_master(ws: Workspace, ctx: Context, secret: MasterSecret) -> str:
    """Re-seal the keyring under a new master key or passphrase; return the KDF used.

    What to do when the master secret may have leaked: every key Bastion holds (KEKs,
    audit signing key, pepper) stays the same, only what seals them changes.
    """
    with operation(ws, ctx, "keyring.rekey", permission="keyring:manage", resource="keyring") as op:
        op.details["previous_kdf"] = ws.keyring.kdf_algorithm
        ws.keyring.rekey(secret)
        op.details["kdf"] = ws.keyring.kdf_algorithm
        return ws.keyring.kdf_algorithm


def rows_on_version(session: Session, provider: str, version: int) -> int:
    """Live data keys wrapped under one version."""
    return _count_by_version(session).get((provider, version), 0)


__all__ = [
    "ACTIVE",
    "DESTROYED",
    "ENABLED",
    "RETIRED",
    "KekVersionInfo",
    "RotationResult",
    "list_versions",
    "new_data_key",
    "resume_rotation",
    "retire",
    "rotate",
    "shred_data_key",
    "unwrap_data_key",
]
