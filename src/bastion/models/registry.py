"""The model registry: scanned, signed, encrypted model versions with stages and rollback.

``register`` scans the file (malicious or unassessable files are refused; suspicious ones
need an override with a reason), encrypts it into the vault, and in the same transaction
records a signed manifest (OpenSSF model-signing layout) and a signed SLSA provenance
statement naming the registering principal, the training dataset's digest, the code
revision and the parameters. ``promote`` and ``rollback`` only ever put a version in
production after decrypting it, checking its digest against the signed manifest,
verifying the signature and scanning it again with today's policy.
"""

from __future__ import annotations

import hmac
import mmap
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.context import Context
from bastion.db.engine import transaction
from bastion.db.models import ModelStageEventRow, ModelVersionRow, VaultObjectRow
from bastion.errors import (
    EncryptedObjectError,
    InvalidInput,
    ModelRejected,
    NotFound,
    SignatureInvalid,
)
from bastion.models.profile import infer_schema
from bastion.models.provenance import ProvenanceInput, provenance_statement, sign_statement
from bastion.models.scan import Engine, ScanResult, Verdict
from bastion.models.schema import InputSchema
from bastion.models.signing import Manifest, manifest_of_digests, sign_manifest, verify_manifest
from bastion.operation import Operation, operation
from bastion.vault import objects
from bastion.vault.objects import Kind, Progress, validate_name
from bastion.workspace import Workspace

STAGES = ("staging", "production", "archived")
# What a scanned format says about the framework that made it.
_FRAMEWORKS = {
    "onnx": "onnx",
    "torch_zip": "pytorch",
    "keras": "keras",
    "hdf5": "keras",
    "safetensors": "safetensors",
}


@dataclass(frozen=True)
class ModelVersion:
    """One registered version, as listings show it."""

    name: str
    version: int
    stage: str
    format: str
    framework: str | None
    sha256: str
    size: int
    scan_verdict: str
    findings: int
    override_reason: str | None
    signature_key_id: str
    registered_by: str
    registered_at: datetime
    lineage: dict[str, Any]
    state: str
    # The input schema profiled from the training data (InputSchema.as_dict()), if any;
    # unverified: serving reads it through verified_input_schema().
    input_schema: dict[str, Any] | None = None


def _version(row: ModelVersionRow, obj: VaultObjectRow) -> ModelVersion:
    findings = row.scan_report.get("findings", [])
    return ModelVersion(
        row.name,
        row.version,
        row.stage,
        row.format,
        row.framework,
        obj.sha256,
        obj.size,
        row.scan_verdict,
        len(findings) if isinstance(findings, list) else 0,
        row.override_reason,
        row.signature_key_id,
        row.registered_by,
        row.registered_at,
        dict(obj.lineage),
        obj.state,
        dict(row.input_schema) if row.input_schema is not None else None,
    )


def trusted_keys(ws: Workspace) -> dict[str, Ed25519PublicKey]:
    """Public keys whose model signatures this workspace accepts (active and unrevoked)."""
    return ws.keyring.trusted_model_signing_keys()


def _refuse(scan: ScanResult, allow_suspicious: str | None) -> None:
    worst = scan.findings[0].detail if scan.findings else (scan.error or "")
    details = {"verdict": str(scan.verdict), "findings": [f.as_dict() for f in scan.findings]}
    if scan.verdict is Verdict.MALICIOUS:
        raise ModelRejected(
            f"refused: {scan.path} is malicious ({worst})", code="model.malicious", details=details
        )
    if scan.verdict is Verdict.ERROR:
        raise ModelRejected(
            f"refused: {scan.path} could not be assessed ({worst})",
            code="model.unscanned",
            hint="Only formats the scanner can read are registered; convert the model to ONNX.",
            details=details,
        )
    if scan.verdict is Verdict.SUSPICIOUS and not allow_suspicious:
        raise ModelRejected(
            f"refused: {scan.path} is suspicious ({worst})",
            code="model.suspicious",
            hint="Review the findings; to register it anyway pass --allow-suspicious REASON.",
            details=details,
        )


@dataclass
class _Registration:
    """The registry's part of ``vault.add``: scan before, sign and record at commit."""

    ws: Workspace
    ctx: Context
    path: Path
    name: str
    code_revision: str | None
    parameters: Mapping[str, Any]
    allow_suspicious: str | None
    framework: str | None
    training_data: Path | None = None
    target: str | None = None
    features: list[str] | None = None
    scan: ScanResult | None = None
    schema: InputSchema | None = None

    def check(self, op: Operation) -> None:
        if self.allow_suspicious is not None and not self.allow_suspicious.strip():
            raise InvalidInput("an override needs a reason", code="model.override_reason")
        if not self.path.is_file():
            raise InvalidInput(f"no such file: {self.path}", code="vault.no_such_file")
        if self.training_data is not None:
            # Before anything is stored: unreadable training data changes nothing.
            self.schema = infer_schema(
                self.training_data, target=self.target, features=self.features
            )
            op.details["input_schema"] = {
                "features": len(self.schema.features),
                "rows": self.schema.rows,
            }
        scan = Engine().scan_file(self.path, display=self.path.name)
        self.scan = scan
        op.details["scan"] = {"verdict": str(scan.verdict), "findings": len(scan.findings)}
        if scan.findings:
            op.details["scan"]["worst"] = scan.findings[0].detail[:200]
        _refuse(scan, self.allow_suspicious)
        if scan.verdict is Verdict.SUSPICIOUS:
            op.details["override"] = self.allow_suspicious

    def record(self, session: Session, row: VaultObjectRow, op: Operation) -> None:
        scan = self.scan
        assert scan is not None
        # The file could have changed between the scan and the encryption pass.
        if not hmac.compare_digest(scan.sha256, row.sha256):
            raise ModelRejected(
                f"{self.path} changed while it was being registered", code="model.changed"
            )
        # Signed under the name the vault records, so verification can rebuild it.
        manifest = _manifest(row.name, row.version, row.source_name, row.sha256, row.size)
        key_id, key = self.ws.keyring.model_signing_key()
        lineage = row.lineage
        dataset = (
            (str(lineage["dataset"]), int(str(lineage["version"])), str(lineage["sha256"]))
            if lineage
            else None
        )
        statement = provenance_statement(
            manifest,
            ProvenanceInput(
                registered_by=self.ctx.principal.name,
                builder_id=f"bastion://{self.ws.keyring.workspace_id()}",
                dataset=dataset,
                code_revision=self.code_revision,
                parameters=dict(self.parameters),
                started_on=self.ctx.clock.now(),
                input_schema_sha256=self.schema.digest() if self.schema else None,
            ),
        )
        now = self.ctx.clock.now()
        session.add(
            ModelVersionRow(
                id=uuid.uuid4().hex,
                object_id=row.id,
                name=row.name,
                version=row.version,
                stage="staging",
                format=scan.format,
                framework=self.framework or _FRAMEWORKS.get(scan.format),
                scan_verdict=str(scan.verdict),
                scan_report=scan.as_dict(),
                scanned_at=now,
                override_reason=self.allow_suspicious if scan.flagged else None,
                signature=sign_manifest(manifest, key_id, key),
                signature_key_id=key_id,
                provenance=sign_statement(statement, key_id, key),
                registered_by=self.ctx.principal.name,
                registered_at=now,
                input_schema=self.schema.as_dict() if self.schema else None,
            )
        )
        session.add(_event(row.name, row.version, None, "staging", self.ctx, "registered"))
        op.details.update(signature_key=key_id, stage="staging", format=scan.format)


def _manifest(name: str, version: int, file_name: str, sha256: str, size: int) -> Manifest:
    """What the registry signs: the file's digest under ``NAME@vVERSION``.

    The version is in the signed model name, so a signature cannot be moved to another
    version's row (or another model's) and still verify.
    """
    return manifest_of_digests(f"{name}@v{version}", {file_name: (sha256, size)})


def _event(
    name: str, version: int, before: str | None, after: str, ctx: Context, reason: str
) -> ModelStageEventRow:
    return ModelStageEventRow(
        name=name,
        version=version,
        from_stage=before,
        to_stage=after,
        at=ctx.clock.now(),
        by=ctx.principal.name,
        reason=reason,
    )


def register(
    ws: Workspace,
    ctx: Context,
    path: Path,
    name: str,
    *,
    trained_on: str | None = None,
    code_revision: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    allow_suspicious: str | None = None,
    framework: str | None = None,
    classification: str | None = None,
    progress: Progress | None = None,
    training_data: Path | None = None,
    target: str | None = None,
    features: list[str] | None = None,
) -> ModelVersion:
    """Scan, sign, encrypt and record ``path`` as the next version of model ``name``.

    With ``training_data`` (CSV, TSV or Parquet) the model's input schema is profiled from
    it (``features`` in the model's input order, or every column but ``target``), stored
    with the version, and its digest is signed into the provenance.
    """
    hook = _Registration(
        ws,
        ctx,
        path,
        name,
        code_revision,
        parameters or {},
        allow_suspicious,
        framework,
        training_data,
        target,
        features,
    )
    info = objects.add(
        ws,
        ctx,
        Kind.MODEL,
        path,
        name,
        classification=classification,
        trained_on=trained_on,
        progress=progress,
        hook=hook,
    )
    return _one(versions(ws, ctx, name, _audit=False), info.version)


def _one(items: list[ModelVersion], version: int) -> ModelVersion:
    for item in items:
        if item.version == version:
            return item
    raise NotFound(f"no registered model version {version}", code="model.not_found")


def _rows(session: Session, name: str) -> list[tuple[ModelVersionRow, VaultObjectRow]]:
    rows = session.execute(
        select(ModelVersionRow, VaultObjectRow)
        .join(VaultObjectRow, VaultObjectRow.id == ModelVersionRow.object_id)
        .where(ModelVersionRow.name == name)
        .order_by(ModelVersionRow.version)
    ).all()
    return [(m, o) for m, o in rows]


def versions(ws: Workspace, ctx: Context, name: str, *, _audit: bool = True) -> list[ModelVersion]:
    """Every registered version of ``name``, oldest first."""
    validate_name(name)

    def load() -> list[ModelVersion]:
        with transaction(ws.sessions) as session:
            rows = _rows(session, name)
        if not rows:
            raise NotFound(f"no registered model {name!r}", code="model.not_found")
        return [_version(m, o) for m, o in rows]

    if not _audit:
        return load()
    with operation(ws, ctx, "model.versions", permission="model:list", resource=f"model/{name}"):
        return load()


@dataclass(frozen=True)
class Verified:
    """A stored version whose bytes matched its signed manifest and passed a fresh scan."""

    version: ModelVersion
    manifest: Manifest
    scan: ScanResult


def _verify_mapped(
    ws: Workspace, row: ModelVersionRow, obj: VaultObjectRow, data: mmap.mmap
) -> Verified:
    actual = _manifest(row.name, row.version, obj.source_name, obj.sha256, obj.size)
    manifest = verify_manifest(dict(row.signature), actual, trusted_keys(ws))
    if manifest.model_name != actual.model_name:
        # A validly signed manifest of another version (or model) moved onto this row.
        raise SignatureInvalid(
            f"{row.name}@{row.version}: the signature was made for {manifest.model_name!r}",
            code="signature.mismatch",
        )
    scan = Engine().scan_bytes(data, obj.source_name)
    if not hmac.compare_digest(scan.sha256, obj.sha256):
        raise SignatureInvalid(
            f"{row.name}@{row.version}: decrypted bytes do not match the signed digest",
            code="signature.mismatch",
        )
    return Verified(_version(row, obj), manifest, scan)


@contextmanager
def open_verified(ws: Workspace, name: str, version: int) -> Iterator[tuple[Verified, mmap.mmap]]:
    """Decrypt ``name@version``, verify its signature and re-scan it; yields the bytes.

    Callers authorize and audit (promote, rollback, the safe loader).
    """
    with transaction(ws.sessions) as session:
        pair = next(((m, o) for m, o in _rows(session, name) if m.version == version), None)
    if pair is None:
        raise NotFound(f"no registered model {name}@{version}", code="model.not_found")
    row, obj = pair
    with objects.materialize(ws, Kind.MODEL, name, version) as (_, data):
        yield _verify_mapped(ws, row, obj, data), data


def require_clean(verified: Verified) -> None:
    """Refuse a version whose fresh scan is not clean."""
    if verified.scan.verdict is not Verdict.CLEAN:
        worst = verified.scan.findings[0].detail if verified.scan.findings else verified.scan.error
        raise ModelRejected(
            f"{verified.version.name}@{verified.version.version} does not scan clean "
            f"({verified.scan.verdict}: {worst})",
            code="model.not_clean",
            hint="Only versions with a clean scan reach production; register a clean build.",
        )


def _set_stage(
    session: Session, ctx: Context, name: str, version: int, stage: str, reason: str
) -> str | None:
    """Move ``version`` to ``stage``; the current production version is archived."""
    rows = session.scalars(
        select(ModelVersionRow).where(ModelVersionRow.name == name).with_for_update()
    ).all()
    target = next((r for r in rows if r.version == version), None)
    if target is None:
        raise NotFound(f"no registered model {name}@{version}", code="model.not_found")
    previous: str | None = None
    if stage == "production":
        for other in rows:
            if other.stage == "production" and other.version != version:
                session.add(_event(name, other.version, "production", "archived", ctx, reason))
                other.stage = "archived"
                previous = str(other.version)
    if target.stage != stage:
        session.add(_event(name, version, target.stage, stage, ctx, reason))
        target.stage = stage
    return previous


def promote(
    ws: Workspace,
    ctx: Context,
    name: str,
    version: int,
    *,
    stage: str = "production",
    reason: str = "",
) -> ModelVersion:
    """Move a version to ``stage``; production needs a valid signature and a clean scan."""
    with operation(
        ws, ctx, "model.promote", permission="model:deploy", resource=f"model/{name}@{version}"
    ) as op:
        validate_name(name)
        if stage not in STAGES:
            raise InvalidInput(
                f"unknown stage {stage!r}",
                code="model.bad_stage",
                hint=f"Use one of: {', '.join(STAGES)}.",
            )
        op.details.update(version=version, stage=stage)
        if stage == "production":
            with open_verified(ws, name, version) as (verified, _):
                require_clean(verified)
            op.details["signature"] = "verified"
        with transaction(ws.sessions) as session:
            archived = _set_stage(session, ctx, name, version, stage, reason)
        if archived is not None:
            op.details["archived"] = int(archived)
        return _one(versions(ws, ctx, name, _audit=False), version)


@dataclass(frozen=True)
class Rollback:
    """What ``rollback`` changed."""

    name: str
    from_version: int
    to_version: int
    skipped: dict[int, str]


def rollback(ws: Workspace, ctx: Context, name: str, *, reason: str = "") -> Rollback:
    """Return production to the previous version that was in production and still verifies.

    Candidates are walked newest first through the stage history; a version that was
    shredded, no longer verifies or no longer scans clean is skipped (and reported).
    """
    with operation(
        ws, ctx, "model.rollback", permission="model:deploy", resource=f"model/{name}"
    ) as op:
        validate_name(name)
        with transaction(ws.sessions) as session:
            current = session.scalar(
                select(ModelVersionRow.version).where(
                    ModelVersionRow.name == name, ModelVersionRow.stage == "production"
                )
            )
            history = session.scalars(
                select(ModelStageEventRow.version)
                .where(ModelStageEventRow.name == name, ModelStageEventRow.to_stage == "production")
                .order_by(ModelStageEventRow.id.desc())
            ).all()
        if current is None:
            raise NotFound(f"model {name!r} has no production version", code="model.no_production")
        skipped: dict[int, str] = {}
        for candidate in dict.fromkeys(v for v in history if v != current):
            try:
                with open_verified(ws, name, candidate) as (verified, _):
                    require_clean(verified)
            # EncryptedObjectError: a blob that was swapped, truncated or edited no
            # longer verifies either; it must be skipped, not end the rollback.
            except (NotFound, SignatureInvalid, ModelRejected, EncryptedObjectError) as exc:
                skipped[candidate] = exc.code
                continue
            with transaction(ws.sessions) as session:
                _set_stage(session, ctx, name, candidate, "production", reason or "rollback")
            op.details.update(from_version=current, to_version=candidate, skipped=skipped)
            return Rollback(name, current, candidate, skipped)
        op.details["skipped"] = skipped
        raise NotFound(
            f"model {name!r} has no earlier production version that still verifies",
            code="model.no_rollback_target",
            details={"skipped": skipped},
        )


def _pick(
    rows: list[tuple[ModelVersionRow, VaultObjectRow]], name: str, version: int | None
) -> tuple[ModelVersionRow, VaultObjectRow]:
    if not rows:
        raise NotFound(f"no registered model {name!r}", code="model.not_found")
    if version is None:
        return rows[-1]
    for pair in rows:
        if pair[0].version == version:
            return pair
    raise NotFound(f"no registered model {name}@{version}", code="model.not_found")


def bom(
    ws: Workspace,
    ctx: Context,
    name: str,
    *,
    version: int | None = None,
    include_environment: bool = True,
) -> str:
    """The CycloneDX 1.6 ML-BOM of a version (latest by default), schema-validated."""
    from bastion.models.bom import BomDataset, BomModel, build_bom

    with operation(ws, ctx, "model.bom", permission="model:read", resource=f"model/{name}") as op:
        validate_name(name)
        with transaction(ws.sessions) as session:
            row, obj = _pick(_rows(session, name), name, version)
            datasets: tuple[BomDataset, ...] = ()
            if obj.lineage:
                data = session.scalars(
                    select(VaultObjectRow).where(
                        VaultObjectRow.kind == Kind.DATASET.value,
                        VaultObjectRow.name == str(obj.lineage["dataset"]),
                        VaultObjectRow.version == int(str(obj.lineage["version"])),
                    )
                ).first()
                classification = data.classification if data is not None else "confidential"
                datasets = (
                    BomDataset(
                        str(obj.lineage["dataset"]),
                        int(str(obj.lineage["version"])),
                        str(obj.lineage["sha256"]),
                        classification,
                    ),
                )
            model = BomModel(
                name=row.name,
                version=row.version,
                sha256=obj.sha256,
                size=obj.size,
                format=row.format,
                framework=row.framework,
                stage=row.stage,
                owner=obj.owner,
                created_at=obj.created_at,
                signature_key_id=row.signature_key_id,
                scan_verdict=row.scan_verdict,
                datasets=datasets,
            )
        op.resource = f"model/{name}@{row.version}"
        return build_bom(model, include_environment=include_environment, now=ctx.clock.now())


def input_schema(version: ModelVersion) -> InputSchema | None:
    """The input schema a listed version carries, parsed but not checked against its signature.

    For display and analysis; what serves requests uses :func:`verified_input_schema`.
    """
    return None if version.input_schema is None else InputSchema.from_dict(version.input_schema)


def verified_input_schema(ws: Workspace, name: str, version: int) -> InputSchema | None:
    """The stored input schema of ``name@version``, checked against the signed provenance.

    None when the version was registered without training data. A schema edited, added
    or removed behind the registry's back raises ``model.schema_tampered``.
    """
    from bastion.models.provenance import verify_statement

    with transaction(ws.sessions) as session:
        row, obj = _pick(_rows(session, name), name, version)
        stored = row.input_schema
        manifest = _manifest(row.name, row.version, obj.source_name, obj.sha256, obj.size)
        envelope = dict(row.provenance)
    statement = verify_statement(envelope, trusted_keys(ws), subject_digest=manifest.root_digest)
    signed = statement["predicate"]["buildDefinition"]["internalParameters"].get(
        "inputSchemaSha256"
    )
    if stored is None and signed is None:
        return None
    schema = InputSchema.from_dict(stored) if stored is not None else None
    if schema is None or signed is None or not hmac.compare_digest(schema.digest(), str(signed)):
        raise ModelRejected(
            f"{name}@{version}: the stored input schema does not match the signed provenance",
            code="model.schema_tampered",
            hint="Treat the model as tampered with; re-register it from its training data.",
        )
    return schema


def provenance(
    ws: Workspace, ctx: Context, name: str, *, version: int | None = None
) -> dict[str, Any]:
    """The signed SLSA provenance statement of a version, after verifying its signature."""
    from bastion.models.provenance import verify_statement

    with operation(
        ws, ctx, "model.provenance", permission="model:read", resource=f"model/{name}"
    ) as op:
        validate_name(name)
        with transaction(ws.sessions) as session:
            row, obj = _pick(_rows(session, name), name, version)
        op.resource = f"model/{name}@{row.version}"
        manifest = _manifest(row.name, row.version, obj.source_name, obj.sha256, obj.size)
        return verify_statement(
            dict(row.provenance), trusted_keys(ws), subject_digest=manifest.root_digest
        )
