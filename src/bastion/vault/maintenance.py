"""Checks and housekeeping over the stored objects.

``verify`` is the evidence that data at rest is intact: every live version decrypted
into a discarding sink, nothing released. ``sweep`` reclaims blob files that crashes
left behind and no live object needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from bastion.context import Context
from bastion.db.engine import transaction
from bastion.db.models import DataKeyRow, VaultObjectRow
from bastion.errors import BastionError, InvalidInput, NotFound
from bastion.operation import operation
from bastion.vault.keys import unwrap_data_key
from bastion.vault.objects import (
    Kind,
    blob_store,
    decrypt_into,
    object_info,
    validate_name,
    vault_operation,
)
from bastion.workspace import Workspace


@dataclass(frozen=True)
class VerifyResult:
    """One stored version checked end to end; ``error`` is the failure code, or None."""

    name: str
    version: int
    size: int
    error: str | None
    message: str = ""


class _Discard:
    """A sink for verification: plaintext is authenticated and hashed, then dropped."""

    def write(self, data: bytes | memoryview, /) -> int:
        return len(data)


def verify(ws: Workspace, ctx: Context, kind: Kind, name: str | None = None) -> list[VerifyResult]:
    """Decrypt every live version (of ``name``, or of all) without releasing plaintext.

    Checks that each blob is present, authenticates under its own data key, and matches
    the recorded length and SHA-256: the evidence that data at rest is intact. Needs the
    read permission, because it unwraps data keys.
    """
    resource = kind.resource(name) if name else f"{kind.value}/*"
    with vault_operation(ws, ctx, kind, "verify", "read", resource) as op:
        if name is not None:
            validate_name(name)
        with transaction(ws.sessions) as session:
            query = (
                select(VaultObjectRow, DataKeyRow)
                .join(DataKeyRow, DataKeyRow.id == VaultObjectRow.data_key_id)
                .where(VaultObjectRow.kind == kind.value, VaultObjectRow.state == "active")
            )
            if name is not None:
                query = query.where(VaultObjectRow.name == name)
            rows = session.execute(
                query.order_by(VaultObjectRow.name, VaultObjectRow.version)
            ).all()
            if name is not None and not rows:
                raise NotFound(
                    f"no live {kind.value} {name!r} in the vault", code="vault.not_found"
                )
        results = []
        for obj, key in rows:
            # One short transaction per key: a long verification never holds a lock.
            try:
                with transaction(ws.sessions) as session:
                    dek = unwrap_data_key(ws, session, key)
                decrypt_into(ws, object_info(obj, key), obj.id, key.id, dek, _Discard(), None)
            except BastionError as exc:
                results.append(VerifyResult(obj.name, obj.version, obj.size, exc.code, exc.message))
            else:
                results.append(VerifyResult(obj.name, obj.version, obj.size, None))
        failed = [f"{r.name}@{r.version}: {r.error}" for r in results if r.error]
        op.details.update(checked=len(results), failed=len(failed))
        if failed:
            op.details["failures"] = failed[:50]
        return results


@dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` removed."""

    partial_files: int
    orphan_blobs: int
    bytes: int


def sweep(ws: Workspace, ctx: Context, *, older_than: timedelta) -> SweepResult:
    """Delete blob files no live object needs, once they are older than ``older_than``.

    Three kinds: ``.part`` files of adds that crashed, blobs published by an add that
    crashed before its commit (their data key was never stored), and blobs of shredded
    objects whose deletion was interrupted. All three are already undecryptable; this
    only reclaims space.
    """
    with operation(ws, ctx, "data.sweep", permission="data:write", resource="blobs") as op:
        if older_than < timedelta(minutes=5):
            raise InvalidInput(
                "refusing to sweep files younger than 5 minutes (an add may be writing them)",
                code="vault.sweep_too_recent",
            )
        cutoff = (ctx.clock.now() - older_than).timestamp()
        blobs = blob_store(ws)
        partial = orphans = freed = 0
        for object_id, path in blobs.candidates(cutoff):
            if path.suffix == ".part":
                partial += 1
            else:
                with transaction(ws.sessions) as session:
                    row = session.get(VaultObjectRow, object_id)
                    if row is not None and row.state == "active":
                        continue
                orphans += 1
            freed += path.stat().st_size
            path.unlink(missing_ok=True)
        result = SweepResult(partial, orphans, freed)
        op.details.update(partial_files=partial, orphan_blobs=orphans, bytes=freed)
        return result
