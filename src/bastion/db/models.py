"""The tables. Schema changes go through an Alembic migration, never create_all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bastion.db.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base for all Bastion tables."""


class RoleRow(Base):
    """A role and the permissions it grants: the editable access policy, held as data."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PrincipalRow(Base):
    """A user (human, password + TOTP) or a service account (API keys only)."""

    __tablename__ = "principals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"))
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # TOTP secret sealed with the keyring's secrets key (AES-256-GCM), never stored plain.
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)


class ApiKeyRow(Base):
    """An API key: public prefix for lookup, keyed hash of the secret, never the secret."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rotated_to: Mapped[str | None] = mapped_column(String(32), nullable=True)


class SessionRow(Base):
    """A short-lived human session, created only after password + TOTP."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    source: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditEventRow(Base):
    """One link of the hash chain. Rows are only ever inserted.

    ``body`` is the event's canonical JSON; queries reach its fields through expression
    indexes (see the migration), so no field exists twice.
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts_us: Mapped[int] = mapped_column(BigInteger, index=True)
    body: Mapped[str] = mapped_column(Text)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHeadRow(Base):
    """The single row naming the chain's last event; writers lock it to serialize appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Newest signed checkpoint, kept here so an append learns it in the same round trip.
    checkpoint_seq: Mapped[int] = mapped_column(BigInteger)


class AuditCheckpointRow(Base):
    """An Ed25519 signature over (seq, hash) of the chain at some point."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    ts_us: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class KekVersionRow(Base):
    """A version of a key-encryption key: its lifecycle state. The material is in the provider.

    States: ``active`` (wraps new data keys; one per provider), ``enabled`` (unwraps only,
    until a rotation has moved every data key off it), ``retired`` (no longer used),
    ``destroyed`` (material erased from the provider).
    """

    __tablename__ = "kek_versions"
    __table_args__ = (UniqueConstraint("provider", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DataKeyRow(Base):
    """One object's data key, wrapped under a KEK version. NULL ``wrapped`` = shredded."""

    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    kek_version: Mapped[int] = mapped_column(Integer, index=True)
    wrap_algorithm: Mapped[str] = mapped_column(String(32))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class VaultObjectRow(Base):
    """One version of a stored dataset or model: metadata of an encrypted blob."""

    __tablename__ = "vault_objects"
    __table_args__ = (UniqueConstraint("kind", "name", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    classification: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cipher: Mapped[str] = mapped_column(String(32))
    data_key_id: Mapped[str] = mapped_column(ForeignKey("data_keys.id"), index=True)
    source_name: Mapped[str] = mapped_column(String(255), default="")
    # For models: the dataset version it was trained on ({"name", "version", "sha256"}).
    lineage: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="active")
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    shredded_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


class ModelVersionRow(Base):
    """A model version in the registry: its vault object, scan, signature and stage."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    object_id: Mapped[str] = mapped_column(ForeignKey("vault_objects.id"), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(32))
    framework: Mapped[str | None] = mapped_column(String(32), nullable=True)
    scan_verdict: Mapped[str] = mapped_column(String(16))
    # The scanner's result as JSON (findings with severity, scanner, detail, offset).
    scan_report: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The OpenSSF-style signature bundle and the signed in-toto provenance envelope.
    signature: Mapped[dict[str, object]] = mapped_column(JSON)
    signature_key_id: Mapped[str] = mapped_column(String(64))
    provenance: Mapped[dict[str, object]] = mapped_column(JSON)
    registered_by: Mapped[str] = mapped_column(String(128))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The input schema profiled from the training data (models/schema.py), if given;
    # its digest is in the signed provenance.
    input_schema: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)


class ModelStageEventRow(Base):
    """One stage change; the history that rollback walks back through."""

    __tablename__ = "model_stage_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    from_stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")


class DataTokenRow(Base):
    """A reversible token: the sealed value it stands for, found again by a keyed digest."""

    __tablename__ = "data_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    # HMAC of (type, value) under the pseudonymization key: the same value, the same token.
    lookup: Mapped[str] = mapped_column(String(64), unique=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    # The value sealed with the keyring's secrets key, bound to the token.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


class DatasetScanRow(Base):
    """The sensitive-data scan of one dataset version, and the label it led to."""

    __tablename__ = "dataset_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    object_id: Mapped[str] = mapped_column(ForeignKey("vault_objects.id"), index=True)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    scanned_by: Mapped[str] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(16))
    # Entity type -> number of values found, and the per-column summary (masked examples only).
    totals: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # What the classification rules gave, what was stored, and why they differ (an override).
    suggested: Mapped[str] = mapped_column(String(16))
    classification: Mapped[str] = mapped_column(String(16))
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReviewItemRow(Base):
    """A prediction the gateway's ensemble disagreed on, held for a person to review."""

    __tablename__ = "review_items"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(String(64))
    principal: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disagreement: Mapped[float] = mapped_column(Float)
    # The request's rows and every member's answer, sealed with the keyring (personal data).
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
