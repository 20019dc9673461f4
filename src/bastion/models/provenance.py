"""Model provenance: an in-toto Statement v1 with a SLSA provenance v1 predicate.

The statement says how a model came to be: who registered it, which Bastion workspace
built it, from which dataset (name, version, SHA-256) and code revision, with which
training parameters, and when. Its subject is the model's root digest, the same one the
model signature (``model.sig``) carries, so the two documents name the same bytes.

It is signed as a plain DSSE envelope (the usual in-toto attestation file, one JSON
object), with the model-signing key; ``signatures[].keyid`` names the key by its Bastion
id (``ed25519:<hex32>``). The layout is in ``docs/formats/model-signature.md``.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from bastion.errors import InvalidInput, SignatureInvalid
from bastion.models.signing import (
    STATEMENT_TYPE,
    Manifest,
    _check_signature,
    _dsse_envelope,
    _load_statement,
    _malformed,
    _parse_envelope,
    read_json_object,
)

__all__ = [
    "BUILD_TYPE",
    "SLSA_PROVENANCE_PREDICATE",
    "ProvenanceInput",
    "provenance_statement",
    "read_envelope",
    "sign_statement",
    "verify_statement",
]

SLSA_PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v1"
# SLSA asks for a URI naming the template of externalParameters; ours is versioned with
# the format document.
BUILD_TYPE = "bastion://build-types/model-training/v1"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class ProvenanceInput:
    """The facts a provenance statement records about one model build."""

    registered_by: str
    builder_id: str
    dataset: tuple[str, int, str] | None
    code_revision: str | None
    parameters: Mapping[str, Any]
    started_on: datetime
    # SHA-256 of the input schema recorded from the training data (models/schema.py).
    input_schema_sha256: str | None = None


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time is ambiguous; a provenance record must not guess the zone.
        raise InvalidInput("started_on must carry a time zone", code="provenance.naive_time")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _dataset_dependency(dataset: tuple[str, int, str]) -> dict[str, Any]:
    name, version, digest = dataset
    if not isinstance(name, str) or not name or "@" in name or any(c.isspace() for c in name):
        raise InvalidInput(f"bad dataset name {name!r}", code="provenance.bad_dataset")
    if type(version) is not int or version < 0:
        raise InvalidInput(f"bad dataset version {version!r}", code="provenance.bad_dataset")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
        raise InvalidInput(
            "the dataset digest must be a SHA-256 hex digest", code="provenance.bad_dataset"
        )
    return {"uri": f"bastion:dataset/{name}@{version}", "digest": {"sha256": digest.lower()}}


def _code_dependency(revision: str) -> dict[str, Any]:
    if not isinstance(revision, str) or not revision.strip():
        raise InvalidInput("the code revision is empty", code="provenance.bad_revision")
    revision = revision.strip()
    if _GIT_COMMIT.fullmatch(revision.lower()):
        return {"digest": {"gitCommit": revision.lower()}}
    # "https://host/repo@<commit>": SLSA's git convention, a URI plus the commit digest.
    _, at, tail = revision.rpartition("@")
    if at and _GIT_COMMIT.fullmatch(tail.lower()):
        return {"uri": revision, "digest": {"gitCommit": tail.lower()}}
    return {"uri": revision}


def provenance_statement(manifest: Manifest, info: ProvenanceInput) -> dict[str, Any]:
    """The in-toto statement (SLSA provenance v1) describing how ``manifest``'s model was built."""
    if not info.registered_by or not info.builder_id:
        raise InvalidInput(
            "provenance needs who registered the model and the builder id",
            code="provenance.bad_input",
        )
    try:
        # A JSON round trip both checks the parameters and detaches them from the caller.
        parameters = json.loads(json.dumps(dict(info.parameters), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"training parameters must be JSON values: {exc}", code="provenance.bad_parameters"
        ) from exc
    dependencies = []
    if info.dataset is not None:
        dependencies.append(_dataset_dependency(info.dataset))
    if info.code_revision is not None:
        dependencies.append(_code_dependency(info.code_revision))
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": manifest.model_name, "digest": {"sha256": manifest.root_digest}}],
        "predicateType": SLSA_PROVENANCE_PREDICATE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": parameters,
                # Set by Bastion from the authenticated principal, not by the requester.
                "internalParameters": {
                    "registeredBy": info.registered_by,
                    **(
                        {"inputSchemaSha256": info.input_schema_sha256}
                        if info.input_schema_sha256
                        else {}
                    ),
                },
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": {"id": info.builder_id},
                "metadata": {"startedOn": _timestamp(info.started_on)},
            },
        },
    }


def sign_statement(
    statement: dict[str, Any], key_id: str, private_key: Ed25519PrivateKey
) -> dict[str, Any]:
    """Sign an in-toto statement: a DSSE envelope whose signature names ``key_id``."""
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise InvalidInput("not an in-toto Statement v1", code="provenance.bad_input")
    try:
        return _dsse_envelope(statement, key_id, private_key)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"the statement is not JSON-able: {exc}", code="provenance.bad_input"
        ) from exc


def read_envelope(data: bytes) -> dict[str, Any]:
    """Parse a provenance file (a DSSE envelope) and check its structure, not its signature."""
    envelope = read_json_object(data, "provenance file")
    _parse_envelope(envelope)
    return envelope


def _check_provenance(statement: dict[str, Any]) -> list[str]:
    """The subject digests of a SLSA provenance statement; malformed if it is not one."""
    if statement.get("predicateType") != SLSA_PROVENANCE_PREDICATE:
        raise _malformed(f"predicateType must be {SLSA_PROVENANCE_PREDICATE!r}")
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict) or not isinstance(predicate.get("buildDefinition"), dict):
        raise _malformed("the provenance has no buildDefinition")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise _malformed("the provenance names no subject")
    digests = []
    for subject in subjects:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        value = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(value, str) or not _SHA256.fullmatch(value.lower()):
            raise _malformed("a provenance subject has no SHA-256 digest")
        digests.append(value.lower())
    return digests


def verify_statement(
    envelope: dict[str, Any],
    trusted: Mapping[str, Ed25519PublicKey],
    *,
    subject_digest: str | None = None,
) -> dict[str, Any]:
    """Check a signed provenance envelope and return its statement.

    One signature whose ``keyid`` is in ``trusted`` must verify (signatures by other
    keys are ignored, as DSSE allows several). With ``subject_digest`` (a model's root
    digest), the statement must be about that model, else ``signature.mismatch``.
    """
    parsed = _parse_envelope(envelope)
    candidates = [(keyid, sig) for keyid, sig in parsed.signatures if keyid in trusted]
    if not candidates:
        raise SignatureInvalid(
            "the provenance is not signed by a trusted key",
            code="signature.unknown_key",
            details={"keyids": [keyid for keyid, _ in parsed.signatures]},
        )
    failure: SignatureInvalid | None = None
    for keyid, sig in candidates:
        try:
            _check_signature(parsed, sig, trusted[keyid])
            break
        except SignatureInvalid as exc:
            failure = exc
    else:
        assert failure is not None
        raise failure
    statement = _load_statement(parsed.payload)
    digests = _check_provenance(statement)
    if subject_digest is not None and not any(
        hmac.compare_digest(digest, subject_digest.lower()) for digest in digests
    ):
        raise SignatureInvalid(
            "the provenance describes another model: its subject digest differs",
            code="signature.mismatch",
            details={"expected": subject_digest.lower(), "subjects": digests},
        )
    return statement
