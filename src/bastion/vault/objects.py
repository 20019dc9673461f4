"""Datasets and model files in the vault: add, get, list, info, remove (crypto-shred).

Every version is its own encrypted object under its own data key, with a SHA-256 of
the plaintext, a classification label, an owner and (for models) the dataset version it
was trained on. Reads are authorized and audited with byte counts. ``remove`` destroys
the data keys, which is what makes erasure hold for every copy of the ciphertext.
"""

from __future__ import annotations

import contextlib
import hmac
import mmap
import os
import re
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from io import FileIO
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.context import Context
from bastion.crypto.stream import ByteWriter, Cipher, decrypt_stream, encrypt_stream
from bastion.db.engine import transaction, truncate_sqlite_wal
from bastion.db.models import DataKeyRow, VaultObjectRow
from bastion.errors import Conflict, EncryptedObjectError, InvalidInput, NotFound
from bastion.identity.access import authorize_each
from bastion.operation import Operation, operation
from bastion.vault.blobs import BlobStore
from bastion.vault.keys import (
    ensure_wrapped_under_live_kek,
    new_data_key,
    shred_data_key,
    unwrap_data_key,
)
from bastion.vault.kinds import Kind as Kind  # re-exported: the kind belongs with its objects
from bastion.vault.publish import PendingFile
from bastion.workspace import Workspace

CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
# Unlabelled data is treated as sensitive until someone says otherwise.
DEFAULT_CLASSIFICATION = "confidential"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Given the total size, returns the callback that receives each chunk's byte count.
Progress = Callable[[int], Callable[[int], None]]


class AddHook(Protocol):
    """Lets a caller (the model registry) check and record inside ``add``'s operation.

    ``check`` runs after validation and before anything is encrypted (a refusal raised
    there is audited and leaves nothing behind); ``record`` runs inside the transaction
    that commits the new version, so its rows exist exactly when the version does.
    """

    def check(self, op: Operation) -> None:
        """Refuse by raising; may add audit details to ``op``."""
        ...

    def record(self, session: Session, row: VaultObjectRow, op: Operation) -> None:
        """Add rows for the new version ``row`` (flushed, not yet committed)."""
        ...


@dataclass(frozen=True)
class ObjectInfo:
    """One stored version, as listings show it."""

    kind: str
    name: str
    version: int
    size: int
    sha256: str
    classification: str
    owner: str
    created_at: datetime
    cipher: str
    kek: str
    source_name: str
    state: str
    lineage: dict[str, Any] = field(default_factory=dict)
    shredded_at: datetime | None = None
    shredded_by: str | None = None


@dataclass(frozen=True)
class ShredResult:
    """What ``remove`` destroyed."""

    kind: str
    name: str
    versions: list[int]
    bytes: int


def object_info(row: VaultObjectRow, key: DataKeyRow | None) -> ObjectInfo:
    kek = f"{key.provider}/v{key.kek_version} ({key.wrap_algorithm})" if key else ""
    if key is not None and key.wrapped is None:
        kek = "shredded"
    return ObjectInfo(
        row.kind,
        row.name,
        row.version,
        row.size,
        row.sha256,
        row.classification,
        row.owner,
        row.created_at,
        row.cipher,
        kek,
        row.source_name,
        row.state,
        dict(row.lineage),
        row.shredded_at,
        row.shredded_by,
    )


def vault_operation(
    ws: Workspace, ctx: Context, kind: Kind, verb: str, permission: str, resource: str
) -> AbstractContextManager[Operation]:
    """The operation path for ``<data|model>.<verb>`` with the kind's permission."""
    return operation(
        ws,
        ctx,
        f"{kind.action_prefix}.{verb}",
        permission=kind.permissions[permission],
        resource=resource,
    )


def validate_name(name: str) -> str:
    """Names are short, printable and safe in paths and grants."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid name {name!r}",
            code="vault.bad_name",
            hint="Use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.",
        )
    return name


def validate_classification(label: str) -> str:
    """One of public, internal, confidential, restricted."""
    if label not in CLASSIFICATIONS:
        raise InvalidInput(
            f"unknown classification {label!r}",
            code="vault.bad_classification",
            hint=f"Use one of: {', '.join(CLASSIFICATIONS)}.",
        )
    return label


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME@VERSION``."""
    name, sep, version = ref.partition("@")
    validate_name(name)
    if not sep:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise InvalidInput(f"invalid version in {ref!r}", code="vault.bad_version")
    return name, int(version)


def blob_store(ws: Workspace) -> BlobStore:
    return BlobStore(ws.blob_dir)


def _open_source(path: Path) -> tuple[FileIO, int]:
    # O_NONBLOCK: opening a FIFO or a device must not hang waiting for a writer; the
    # flag means nothing for the regular files that pass the check below.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}", code="vault.no_such_file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a folder, not a file", code="vault.not_a_file") from None
    except OSError:
        raise InvalidInput(f"cannot read {path}", code="vault.unreadable") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InvalidInput(f"{path} is not a regular file", code="vault.not_a_file")
    return FileIO(fd, "rb", closefd=True), info.st_size


def _resolve(
    session: Session, kind: Kind, name: str, version: int | None, *, live: bool = True
) -> VaultObjectRow:
    query = select(VaultObjectRow).where(
        VaultObjectRow.kind == kind.value, VaultObjectRow.name == name
    )
    if version is not None:
        query = query.where(VaultObjectRow.version == version)
    elif live:
        query = query.where(VaultObjectRow.state == "active")
    row = session.scalars(query.order_by(VaultObjectRow.version.desc()).limit(1)).first()
    if row is None and version is None and live:
        # Every version was shredded: say so rather than pretend it never existed.
        row = session.scalars(
            select(VaultObjectRow)
            .where(VaultObjectRow.kind == kind.value, VaultObjectRow.name == name)
            .order_by(VaultObjectRow.version.desc())
            .limit(1)
        ).first()
    if row is None:
        which = f"{name}@{version}" if version is not None else name
        raise NotFound(f"no {kind.value} {which!r} in the vault", code="vault.not_found")
    if live and row.state != "active":
        raise NotFound(
            f"{kind.value} {name}@{row.version} was crypto-shredded on "
            f"{row.shredded_at:%Y-%m-%d %H:%M:%S} UTC by {row.shredded_by}",
            code="vault.shredded",
        )
    return row


def _lineage(session: Session, ref: str | None) -> dict[str, Any]:
    if ref is None:
        return {}
    name, version = parse_ref(ref)
    row = _resolve(session, Kind.DATASET, name, version)
    return {"dataset": row.name, "version": row.version, "sha256": row.sha256}


def add(
    ws: Workspace,
    ctx: Context,
    kind: Kind,
    path: Path,
    name: str,
    *,
    classification: str | None = None,
    trained_on: str | None = None,
    progress: Progress | None = None,
    hook: AddHook | None = None,
) -> ObjectInfo:
    """Encrypt ``path`` into the vault as the next version of ``name``.

    One pass reads, hashes and encrypts; the blob is published atomically, then one
    transaction records the wrapped data key and the metadata. A crash before the
    commit leaves an orphan blob whose data key was never stored: unreadable noise.
    """
    with vault_operation(ws, ctx, kind, "add", "add", kind.resource(name)) as op:
        # Validated inside the operation, so that refused input is audited too.
        validate_name(name)
        label = validate_classification(classification or DEFAULT_CLASSIFICATION)
        if trained_on is not None and kind is not Kind.MODEL:
            raise InvalidInput("only models have a training dataset", code="vault.bad_lineage")
        with transaction(ws.sessions) as session:
            lineage = _lineage(session, trained_on)
        if hook is not None:
            hook.check(op)
        cipher = Cipher.from_label(ws.settings.vault_cipher)
        key_row, dek = new_data_key(ws, ctx)
        object_id = uuid.uuid4().hex
        blobs = blob_store(ws)
        source, size = _open_source(path)
        advance = progress(size) if progress is not None else None
        with source, blobs.writer(object_id) as sink:
            result = encrypt_stream(
                dek,
                bytes.fromhex(key_row.id),
                source,
                sink,
                size,
                cipher=cipher,
                chunk_size=ws.settings.vault_chunk_size,
                progress=advance,
            )
        try:
            with transaction(ws.sessions) as session:
                latest = session.scalar(
                    select(func.max(VaultObjectRow.version)).where(
                        VaultObjectRow.kind == kind.value, VaultObjectRow.name == name
                    )
                )
                row = VaultObjectRow(
                    id=object_id,
                    kind=kind.value,
                    name=name,
                    version=(latest or 0) + 1,
                    size=result.plaintext_length,
                    sha256=result.sha256,
                    classification=label,
                    owner=ctx.principal.name,
                    created_at=ctx.clock.now(),
                    cipher=cipher.label,
                    data_key_id=key_row.id,
                    source_name=path.name[:255],
                    lineage=lineage,
                    state="active",
                )
                # The KEK may have been rotated away and retired while we encrypted.
                ensure_wrapped_under_live_kek(ws, session, key_row, dek)
                session.add(key_row)
                session.flush()
                session.add(row)
                session.flush()
                if hook is not None:
                    hook.record(session, row, op)
                info = object_info(row, key_row)
        except BaseException:
            blobs.delete(object_id)
            raise
        op.resource = f"{kind.resource(name)}@{info.version}"
        op.details.update(
            version=info.version,
            bytes=info.size,
            sha256=info.sha256,
            classification=info.classification,  # a hook may have labelled it from a scan
            kek=info.kek,
        )
        if lineage:
            op.details["lineage"] = lineage
        return info


def get(
    ws: Workspace,
    ctx: Context,
    kind: Kind,
    name: str,
    out: Path,
    *,
    version: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> ObjectInfo:
    """Decrypt a version into ``out``; ``out`` appears only once every byte verified.

    The plaintext gets its name only after the read's audit event is durable, so no
    read can complete without its record (a crash in between leaves a recorded read
    whose output never appeared, never the reverse).
    """
    with contextlib.ExitStack() as stack:
        with vault_operation(ws, ctx, kind, "get", "read", kind.resource(name)) as op:
            validate_name(name)
            _check_output(out, overwrite)
            with transaction(ws.sessions) as session:
                row = _resolve(session, kind, name, version)
                key_row = session.get(DataKeyRow, row.data_key_id)
                if key_row is None:
                    raise EncryptedObjectError("data key record is missing", code="vault.corrupt")
                op.resource = f"{kind.resource(name)}@{row.version}"
                op.details["version"] = row.version
                dek = unwrap_data_key(ws, session, key_row)
                info = object_info(row, key_row)
            pending = PendingFile(out, overwrite=overwrite)
            sink = stack.enter_context(pending)
            advance = progress(info.size) if progress is not None else None
            decrypt_into(ws, info, row.id, key_row.id, dek, sink, advance)
            op.details.update(bytes=info.size, sha256=info.sha256)
        pending.publish()
        return info


@contextlib.contextmanager
def materialize(
    ws: Workspace, kind: Kind, name: str, version: int
) -> Iterator[tuple[ObjectInfo, mmap.mmap]]:
    """Decrypt a version into an unnamed temporary file and map it read-only.

    No authorization and no audit here: callers (promote, the safe loader) run this
    inside their own operation. The file has no name in the file system (``O_TMPFILE``
    where available) and disappears when the block ends; every byte was authenticated
    and the digest matched the record before the mapping is handed out.
    """
    with transaction(ws.sessions) as session:
        row = _resolve(session, kind, name, version)
        key_row = session.get(DataKeyRow, row.data_key_id)
        if key_row is None:
            raise EncryptedObjectError("data key record is missing", code="vault.corrupt")
        dek = unwrap_data_key(ws, session, key_row)
        info = object_info(row, key_row)
        object_id, key_id = row.id, key_row.id
    with tempfile.TemporaryFile(dir=ws.blob_dir) as sink:
        decrypt_into(ws, info, object_id, key_id, dek, sink, None)
        sink.flush()
        if info.size == 0:
            raise EncryptedObjectError("empty object", code="vault.corrupt")
        with mmap.mmap(sink.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            yield info, mapped


def _check_output(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise Conflict(
            f"{out} already exists",
            code="vault.output_exists",
            hint="Choose another -o path or pass --force.",
        )
    if out.exists() and not out.is_file():
        raise InvalidInput(f"{out} is not a file", code="vault.not_a_file")
    if not out.parent.is_dir():
        raise InvalidInput(f"folder {out.parent} does not exist", code="vault.no_such_folder")


def decrypt_into(
    ws: Workspace,
    info: ObjectInfo,
    object_id: str,
    key_id: str,
    dek: bytes,
    sink: ByteWriter,
    advance: Callable[[int], None] | None,
) -> None:
    with blob_store(ws).reader(object_id) as (src, n):
        result = decrypt_stream(
            dek, bytes.fromhex(key_id), src, sink, available=n, progress=advance
        )
    if result.plaintext_length != info.size or not hmac.compare_digest(result.sha256, info.sha256):
        # Authentic ciphertext of some other object of ours: a swapped blob file.
        raise EncryptedObjectError(
            "content digest does not match the record", code="vault.tampered"
        )


def list_objects(
    ws: Workspace, ctx: Context, kind: Kind, *, all_versions: bool = False
) -> list[ObjectInfo]:
    """Latest live version of each name (or every version, shredded ones included).

    Only names the caller may list appear: a grant scoped to ``dataset/public-*``
    lists those datasets and no others.
    """
    with operation(
        ws, ctx, f"{kind.action_prefix}.list", permission=None, resource=f"{kind.value}/*"
    ) as op:
        op.details["permission"] = kind.permissions["list"]
        with transaction(ws.sessions) as session:
            rows = session.execute(
                select(VaultObjectRow, DataKeyRow)
                .join(DataKeyRow, DataKeyRow.id == VaultObjectRow.data_key_id)
                .where(VaultObjectRow.kind == kind.value)
                .order_by(VaultObjectRow.name, VaultObjectRow.version)
            ).all()
            names = sorted({obj.name for obj, _ in rows})
            visible = set(
                authorize_each(
                    session,
                    ctx.principal,
                    kind.permissions["list"],
                    [kind.resource(n) for n in names],
                    every=f"{kind.value}/*",
                )
            )
        infos = [object_info(obj, key) for obj, key in rows if kind.resource(obj.name) in visible]
        op.details["shown"] = len({i.name for i in infos})
    if all_versions:
        return infos
    latest: dict[str, ObjectInfo] = {}
    for item in infos:
        if item.state == "active":
            latest[item.name] = item
    return list(latest.values())


def info(ws: Workspace, ctx: Context, kind: Kind, name: str) -> list[ObjectInfo]:
    """Every version of ``name``, shredded ones included (the record outlives the data)."""
    with vault_operation(ws, ctx, kind, "info", "list", kind.resource(name)):
        validate_name(name)
        with transaction(ws.sessions) as session:
            rows = session.execute(
                select(VaultObjectRow, DataKeyRow)
                .join(DataKeyRow, DataKeyRow.id == VaultObjectRow.data_key_id)
                .where(VaultObjectRow.kind == kind.value, VaultObjectRow.name == name)
                .order_by(VaultObjectRow.version)
            ).all()
        if not rows:
            raise NotFound(f"no {kind.value} {name!r} in the vault", code="vault.not_found")
        return [object_info(obj, key) for obj, key in rows]


def remove(
    ws: Workspace, ctx: Context, kind: Kind, name: str, *, version: int | None = None
) -> ShredResult:
    """Crypto-shred one version or every version of ``name``.

    The wrapped data keys are deleted in one transaction (SQLite overwrites the freed
    pages and the WAL is checkpointed), then the blobs are removed. The metadata rows
    stay, marked shredded, as the record of the erasure.
    """
    with vault_operation(ws, ctx, kind, "rm", "remove", kind.resource(name)) as op:
        validate_name(name)
        with transaction(ws.sessions) as session:
            query = select(VaultObjectRow).where(
                VaultObjectRow.kind == kind.value,
                VaultObjectRow.name == name,
                VaultObjectRow.state == "active",
            )
            if version is not None:
                query = query.where(VaultObjectRow.version == version)
            rows = session.scalars(query.with_for_update()).all()
            if not rows:
                which = f"{name}@{version}" if version is not None else name
                raise NotFound(
                    f"no live {kind.value} {which!r} in the vault", code="vault.not_found"
                )
            now = ctx.clock.now()
            for row in rows:
                key_row = session.get(DataKeyRow, row.data_key_id)
                if key_row is not None:
                    shred_data_key(key_row, now)
                row.state = "shredded"
                row.shredded_at = now
                row.shredded_by = ctx.principal.name
            result = ShredResult(
                kind.value, name, sorted(r.version for r in rows), sum(r.size for r in rows)
            )
            ids = [r.id for r in rows]
        op.details["wal_truncated"] = truncate_sqlite_wal(ws.engine)
        for object_id in ids:
            blob_store(ws).delete(object_id)
        op.details.update(versions=result.versions, bytes=result.bytes)
        return result
