"""Small helpers shared by the vault tests: payloads, database rows, blob files, audit."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from sqlalchemy import select

from bastion.audit.events import AuditEvent
from bastion.audit.service import query_events
from bastion.audit.store import AuditQuery
from bastion.db.models import DataKeyRow, VaultObjectRow
from bastion.vault.blobs import SUFFIX
from bastion.vault.objects import Kind
from tests.conftest import Env

CHUNK = 4096  # vault_chunk_size of the test settings: small files span several chunks


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes (never all zeros, so a leak would be visible)."""
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    """Hex SHA-256 as the vault records it."""
    return hashlib.sha256(data).hexdigest()


def write(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name`` and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def object_row(env: Env, kind: Kind, name: str, version: int) -> VaultObjectRow:
    """The metadata row of one stored version."""
    with env.ws.sessions() as session:
        row = session.scalars(
            select(VaultObjectRow).where(
                VaultObjectRow.kind == kind.value,
                VaultObjectRow.name == name,
                VaultObjectRow.version == version,
            )
        ).one()
        session.expunge(row)
        return row


def key_row(env: Env, key_id: str) -> DataKeyRow:
    """A data_keys row by id."""
    with env.ws.sessions() as session:
        row = session.get(DataKeyRow, key_id)
        assert row is not None
        session.expunge(row)
        return row


def all_key_rows(env: Env) -> list[DataKeyRow]:
    """Every data_keys row, shredded ones included."""
    with env.ws.sessions() as session:
        rows = list(session.scalars(select(DataKeyRow).order_by(DataKeyRow.id)))
        session.expunge_all()
        return rows


def count_objects(env: Env) -> int:
    """Rows in vault_objects (every kind and state)."""
    with env.ws.sessions() as session:
        return len(list(session.scalars(select(VaultObjectRow.id))))


def orphan_keys(env: Env) -> list[str]:
    """Ids of data keys that no vault object references (left by a half-done add)."""
    with env.ws.sessions() as session:
        used = set(session.scalars(select(VaultObjectRow.data_key_id)))
        return [k for k in session.scalars(select(DataKeyRow.id)) if k not in used]


def blob_files(env: Env) -> dict[str, Path]:
    """Published blob files by object id (temporary ``.part`` files are not included)."""
    return {p.name.removesuffix(SUFFIX): p for p in env.ws.blob_dir.rglob(f"*{SUFFIX}")}


def blob_of(env: Env, kind: Kind, name: str, version: int) -> Path:
    """The blob file of one stored version (it must exist)."""
    return blob_files(env)[object_row(env, kind, name, version).id]


def part_files(folder: Path) -> list[Path]:
    """Temporary ``*.part`` files anywhere under ``folder``."""
    return sorted(folder.rglob("*.part"))


def events(env: Env, action: str) -> list[AuditEvent]:
    """Audit events for ``action``, read through the audited query service as the admin."""
    return query_events(env.ws, env.admin, AuditQuery(action=action))
