"""The model registry: register (scan, sign, provenance, encrypt), promote, roll back,
tamper detection, and signing model files on disk.

Registry tests run on SQLite and on PostgreSQL (see ``db_url``); each uses a workspace
with a data scientist (registers), an engineer (deploys) and an analyst (neither).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from bastion.crypto.keyring import Keyring
from bastion.db.models import DataKeyRow, ModelVersionRow, VaultObjectRow
from bastion.errors import (
    EncryptedObjectError,
    InvalidInput,
    KeyringError,
    ModelRejected,
    NotFound,
    PermissionDenied,
    SignatureInvalid,
)
from bastion.models import attest, registry
from bastion.models.provenance import BUILD_TYPE, SLSA_PROVENANCE_PREDICATE, verify_statement
from bastion.models.registry import open_verified, promote, register, rollback, trusted_keys
from bastion.models.scan import Engine, Verdict
from bastion.models.scan.policy import default_policy
from bastion.models.signing import manifest_of_digests, sign_manifest
from bastion.vault.objects import Kind, remove
from tests.models.conftest import (
    MALICIOUS_PICKLE,
    Team,
    audit_details,
    benign_pickle,
    model_row,
    model_rows,
    stage_events,
    stages,
    suspicious_pickle,
    write_onnx,
)
from tests.vault.helpers import blob_files, count_objects, object_row, orphan_keys

REVISION = "0123456789abcdef0123456789abcdef01234567"


def _register(team: Team, name: str, seed: int, **kw: Any) -> registry.ModelVersion:
    path, _, _ = write_onnx(team.root / f"{name}-{seed}.onnx", seed)
    return register(team.ws, team.scientist, path, name, **kw)


def _production(team: Team, name: str, *seeds: int) -> None:
    """Register one version per seed and promote each to production in turn."""
    for seed in seeds:
        item = _register(team, name, seed)
        promote(team.ws, team.engineer, name, item.version, reason=f"release {item.version}")


def _nothing_stored(team: Team) -> None:
    assert count_objects(team.env) == 0
    assert model_rows(team.env) == []
    assert blob_files(team.env) == {}
    assert orphan_keys(team.env) == []
    assert list(team.ws.blob_dir.rglob("*.part")) == []


def _edit_signature(team: Team, name: str, version: int) -> None:
    """An insider edits the signed manifest's payload (one base64 character) in the database."""
    with team.ws.sessions.begin() as session:
        row = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.name == name, ModelVersionRow.version == version
            )
        ).one()
        bundle: dict[str, Any] = dict(row.signature)
        envelope: dict[str, Any] = dict(bundle["dsseEnvelope"])
        payload = envelope["payload"]
        envelope["payload"] = payload[:-8] + ("A" if payload[-8] != "A" else "B") + payload[-7:]
        bundle["dsseEnvelope"] = envelope
        row.signature = bundle


def _set_object(team: Team, name: str, version: int, **values: Any) -> None:
    row = model_row(team.env, name, version)
    with team.ws.sessions.begin() as session:
        session.execute(
            update(VaultObjectRow).where(VaultObjectRow.id == row.object_id).values(**values)
        )


def _swap_blob(team: Team, name: str, victim: int, source: int) -> None:
    """Overwrite ``victim``'s encrypted blob with ``source``'s (authentic ciphertext of ours)."""
    blobs = blob_files(team.env)
    target = blobs[model_row(team.env, name, victim).object_id]
    target.write_bytes(blobs[model_row(team.env, name, source).object_id].read_bytes())


# -- register -----------------------------------------------------------------------------


def test_register_scans_signs_encrypts_and_records_provenance(team: Team) -> None:
    digest = team.dataset()
    path, w, _ = write_onnx(team.root / "churn.onnx", seed=1)
    data = path.read_bytes()
    params = {"algorithm": "affine", "C": "1.0"}

    item = register(
        team.ws,
        team.scientist,
        path,
        "churn",
        trained_on="customers@1",
        code_revision=REVISION,
        parameters=params,
    )

    key_id = next(iter(trusted_keys(team.ws)))
    assert (item.name, item.version, item.stage) == ("churn", 1, "staging")
    assert (item.format, item.framework, item.scan_verdict, item.findings) == (
        "onnx",
        "onnx",
        "clean",
        0,
    )
    assert item.sha256 == hashlib.sha256(data).hexdigest() and item.size == len(data)
    assert item.signature_key_id == key_id and key_id.startswith("ed25519:")
    assert item.registered_by == "sam" and item.override_reason is None
    assert item.lineage == {"dataset": "customers", "version": 1, "sha256": digest}
    assert item.state == "active"

    # The signed manifest verifies, and the decrypted bytes are exactly the file.
    with open_verified(team.ws, "churn", 1) as (verified, mapped):
        assert bytes(mapped) == data
        assert verified.scan.verdict is Verdict.CLEAN
        assert [(f.name, f.sha256, f.size) for f in verified.manifest.files] == [
            ("churn.onnx", item.sha256, len(data))
        ]
    root_digest = verified.manifest.root_digest

    # The provenance is signed by the same key and says how the model came to be.
    row = model_row(team.env, "churn", 1)
    statement = verify_statement(
        dict(row.provenance), trusted_keys(team.ws), subject_digest=root_digest
    )
    assert statement["predicateType"] == SLSA_PROVENANCE_PREDICATE
    assert statement["subject"] == [{"name": "churn@v1", "digest": {"sha256": root_digest}}]
    build = statement["predicate"]["buildDefinition"]
    assert build["buildType"] == BUILD_TYPE
    assert build["externalParameters"] == params
    assert build["internalParameters"] == {"registeredBy": "sam"}
    assert build["resolvedDependencies"] == [
        {"uri": "bastion:dataset/customers@1", "digest": {"sha256": digest}},
        {"digest": {"gitCommit": REVISION}},
    ]
    builder = statement["predicate"]["runDetails"]["builder"]["id"]
    assert builder == f"bastion://{team.ws.keyring.workspace_id()}"
    assert row.scan_report["verdict"] == "clean"

    # At rest the model is ciphertext: neither its head nor its weights appear in the blob.
    blob = blob_files(team.env)[row.object_id].read_bytes()
    assert data[:32] not in blob and w.tobytes() not in blob

    ((actor, outcome, resource, details),) = audit_details(team.env, "model.add")
    assert (actor, outcome, resource) == ("sam", "success", "model/churn@1")
    assert details["scan"] == {"verdict": "clean", "findings": 0}
    assert details["signature_key"] == key_id
    assert details["stage"] == "staging" and details["format"] == "onnx"
    assert details["sha256"] == item.sha256 and details["lineage"]["dataset"] == "customers"
    assert stage_events(team.env, "churn") == [(1, None, "staging", "sam", "registered")]

    second = _register(team, "churn", seed=2)
    assert (second.version, second.stage) == (2, "staging")
    assert [v.version for v in registry.versions(team.ws, team.scientist, "churn")] == [1, 2]


def test_safetensors_and_framework_override(team: Team) -> None:
    import numpy as np
    from safetensors.numpy import save

    path = team.file("w.safetensors", save({"w": np.ones((2, 2), np.float32)}))
    item = register(team.ws, team.scientist, path, "emb", framework="pytorch")
    assert (item.format, item.framework, item.scan_verdict) == ("safetensors", "pytorch", "clean")


def test_malicious_pickle_is_refused_audited_and_leaves_nothing(team: Team) -> None:
    path = team.file("churn-model.pkl", MALICIOUS_PICKLE)
    with pytest.raises(ModelRejected) as caught:
        register(team.ws, team.scientist, path, "churn")
    assert caught.value.code == "model.malicious"
    assert "posix.system" in caught.value.message
    assert caught.value.details["verdict"] == "malicious"
    _nothing_stored(team)

    ((actor, outcome, resource, details),) = audit_details(team.env, "model.add")
    assert (actor, outcome, resource) == ("sam", "error", "model/churn")
    assert details["error"] == "model.malicious"
    assert details["scan"]["verdict"] == "malicious"
    assert "posix.system" in details["scan"]["worst"]
    with pytest.raises(NotFound) as missing:
        registry.versions(team.ws, team.scientist, "churn")
    assert missing.value.code == "model.not_found"


def test_unscannable_file_is_refused(team: Team) -> None:
    # Seeded random bytes that no scanner recognises (checked below, not assumed).
    import random

    data = random.Random(0).randbytes(512)
    path = team.file("weights.bin", data)
    assert Engine().scan_file(path).verdict is Verdict.ERROR
    with pytest.raises(ModelRejected) as caught:
        register(team.ws, team.scientist, path, "blob")
    assert caught.value.code == "model.unscanned"
    _nothing_stored(team)
    ((_, outcome, _, details),) = audit_details(team.env, "model.add")
    assert outcome == "error" and details["error"] == "model.unscanned"


def test_suspicious_needs_a_reason_and_never_reaches_production(team: Team) -> None:
    path = team.file("helper.pkl", suspicious_pickle("mypkg.helpers", "Thing"))
    with pytest.raises(ModelRejected) as caught:
        register(team.ws, team.scientist, path, "odd")
    assert caught.value.code == "model.suspicious"
    assert "mypkg.helpers.Thing" in caught.value.message
    _nothing_stored(team)
    with pytest.raises(InvalidInput) as blank:
        register(team.ws, team.scientist, path, "odd", allow_suspicious="   ")
    assert blank.value.code == "model.override_reason"
    _nothing_stored(team)

    item = register(team.ws, team.scientist, path, "odd", allow_suspicious="reviewed by X")
    assert (item.stage, item.scan_verdict, item.format) == ("staging", "suspicious", "pickle")
    assert item.override_reason == "reviewed by X" and item.findings == 1
    assert model_row(team.env, "odd", 1).override_reason == "reviewed by X"
    refused, blank_reason, accepted = audit_details(team.env, "model.add")
    assert refused[1] == "error" and refused[3]["error"] == "model.suspicious"
    # A refused override is audited like any other refusal.
    assert blank_reason[1] == "error" and blank_reason[3]["error"] == "model.override_reason"
    assert accepted[1] == "success" and accepted[3]["override"] == "reviewed by X"
    assert accepted[3]["scan"]["verdict"] == "suspicious"

    # It verifies (it was signed as registered) but does not scan clean: no production.
    with pytest.raises(ModelRejected) as unclean:
        promote(team.ws, team.engineer, "odd", 1)
    assert unclean.value.code == "model.not_clean"
    assert stages(team.env, "odd") == {1: "staging"}
    *_, (_, outcome, _, details) = audit_details(team.env, "model.promote")
    assert outcome == "error" and details["error"] == "model.not_clean"


def test_clean_pickle_registers_with_its_format(team: Team) -> None:
    item = register(team.ws, team.scientist, team.file("list.pkl", benign_pickle()), "plain")
    assert (item.format, item.scan_verdict, item.framework) == ("pickle", "clean", None)


def test_register_needs_model_register(team: Team) -> None:
    path, _, _ = write_onnx(team.root / "m.onnx", 1)
    with pytest.raises(PermissionDenied) as caught:
        register(team.ws, team.analyst, path, "m")
    assert caught.value.code == "access.denied"
    _nothing_stored(team)
    ((actor, outcome, _, details),) = audit_details(team.env, "model.add")
    assert (actor, outcome, details["error"]) == ("ann", "denied", "access.denied")


def test_bad_input_changes_nothing(team: Team) -> None:
    path, _, _ = write_onnx(team.root / "m.onnx", 1)
    with pytest.raises(InvalidInput) as bad_name:
        register(team.ws, team.scientist, path, "../etc")
    assert bad_name.value.code == "vault.bad_name"
    with pytest.raises(InvalidInput) as no_file:
        register(team.ws, team.scientist, team.root / "absent.onnx", "m")
    assert no_file.value.code == "vault.no_such_file" and "absent.onnx" in no_file.value.message
    with pytest.raises(NotFound) as no_dataset:
        register(team.ws, team.scientist, path, "m", trained_on="nothing@1")
    assert no_dataset.value.code == "vault.not_found"
    with pytest.raises(InvalidInput) as bad_param:
        register(team.ws, team.scientist, path, "m", parameters={"lr": float("nan")})
    assert bad_param.value.code == "provenance.bad_parameters"
    _nothing_stored(team)


def test_file_changed_between_scan_and_encryption_is_refused(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real time-of-check/time-of-use race: the scan reads the clean ONNX file, then
    # (after the scan returned and before the vault's encryption pass reads the file) the
    # file is replaced by a malicious pickle. The scan result is honest (it describes the
    # bytes it read); only the file moved on. The registry must notice that the digest of
    # what it encrypted is not the digest of what it scanned.
    path, _, _ = write_onnx(team.root / "race.onnx", 1)
    real_scan = Engine.scan_file

    def scan_then_swap(self: Engine, target: Path, *, display: str | None = None) -> Any:
        result = real_scan(self, target, display=display)
        assert result.verdict is Verdict.CLEAN
        target.write_bytes(MALICIOUS_PICKLE)
        return result

    monkeypatch.setattr("bastion.models.registry.Engine.scan_file", scan_then_swap)
    with pytest.raises(ModelRejected) as caught:
        register(team.ws, team.scientist, path, "race")
    assert caught.value.code == "model.changed"
    _nothing_stored(team)
    ((_, outcome, _, details),) = audit_details(team.env, "model.add")
    assert outcome == "error" and details["error"] == "model.changed"

    # The same check holds when the scan's digest is simply not the file's.
    monkeypatch.setattr(
        "bastion.models.registry.Engine.scan_file",
        lambda self, target, display=None: replace(real_scan(self, target), sha256="0" * 64),
    )
    write_onnx(path, 2)
    with pytest.raises(ModelRejected) as again:
        register(team.ws, team.scientist, path, "race")
    assert again.value.code == "model.changed"
    _nothing_stored(team)


# -- promote ------------------------------------------------------------------------------


def test_promote_needs_deploy_archives_previous_and_records_history(team: Team) -> None:
    _register(team, "churn", 1)
    _register(team, "churn", 2)
    with pytest.raises(PermissionDenied) as denied:
        promote(team.ws, team.scientist, "churn", 1)
    assert denied.value.code == "access.denied"
    assert stages(team.env, "churn") == {1: "staging", 2: "staging"}
    ((actor, outcome, _, details),) = audit_details(team.env, "model.promote")
    assert (actor, outcome, details["error"]) == ("sam", "denied", "access.denied")

    first = promote(team.ws, team.engineer, "churn", 1, reason="first release")
    assert (first.version, first.stage) == (1, "production")
    second = promote(team.ws, team.engineer, "churn", 2, reason="retrained")
    assert (second.version, second.stage) == (2, "production")
    assert stages(team.env, "churn") == {1: "archived", 2: "production"}
    assert stage_events(team.env, "churn") == [
        (1, None, "staging", "sam", "registered"),
        (2, None, "staging", "sam", "registered"),
        (1, "staging", "production", "eve", "first release"),
        # The outgoing version is archived first, then the new one takes its place.
        (1, "production", "archived", "eve", "retrained"),
        (2, "staging", "production", "eve", "retrained"),
    ]
    _, ok1, ok2 = audit_details(team.env, "model.promote")
    assert ok1[:3] == ("eve", "success", "model/churn@1")
    assert ok1[3]["signature"] == "verified" and "archived" not in ok1[3]
    assert ok2[3]["archived"] == 1 and ok2[3]["stage"] == "production"

    # Promoting to a non-production stage moves it without archiving anything else.
    archived = promote(team.ws, team.engineer, "churn", 1, stage="staging")
    assert archived.stage == "staging"
    assert stages(team.env, "churn") == {1: "staging", 2: "production"}

    with pytest.raises(InvalidInput) as bad:
        promote(team.ws, team.engineer, "churn", 1, stage="canary")
    assert bad.value.code == "model.bad_stage"
    with pytest.raises(NotFound) as missing:
        promote(team.ws, team.engineer, "churn", 9)
    assert missing.value.code == "model.not_found"
    with pytest.raises(NotFound) as unknown:
        promote(team.ws, team.engineer, "nobody", 1)
    assert unknown.value.code == "model.not_found"
    assert stages(team.env, "churn") == {1: "staging", 2: "production"}


# -- tampering ----------------------------------------------------------------------------


def test_edited_signature_is_caught_at_promote(team: Team) -> None:
    _register(team, "churn", 1)
    _edit_signature(team, "churn", 1)
    with pytest.raises(SignatureInvalid) as caught:
        promote(team.ws, team.engineer, "churn", 1)
    assert caught.value.code == "signature.bad_signature"
    assert stages(team.env, "churn") == {1: "staging"}
    (*_, details) = audit_details(team.env, "model.promote")[-1]
    assert details["error"] == "signature.bad_signature"


def test_changed_recorded_digest_is_caught_at_promote(team: Team) -> None:
    _register(team, "churn", 1)
    other = _register(team, "churn", 2)
    # Point v1's record at v2's digest: the decrypted bytes no longer match the record.
    _set_object(team, "churn", 1, sha256=other.sha256)
    with pytest.raises(EncryptedObjectError) as caught:
        promote(team.ws, team.engineer, "churn", 1)
    assert caught.value.code == "vault.tampered"
    assert stages(team.env, "churn") == {1: "staging", 2: "staging"}


def test_swapped_blob_is_caught_at_promote(team: Team) -> None:
    _register(team, "churn", 1)
    _register(team, "churn", 2)
    _swap_blob(team, "churn", victim=1, source=2)
    with pytest.raises(EncryptedObjectError) as caught:
        promote(team.ws, team.engineer, "churn", 1)
    # v2's blob names v2's data key in its header; v1's key cannot open it.
    assert caught.value.code.startswith("vault.")
    assert stages(team.env, "churn") == {1: "staging", 2: "staging"}
    promote(team.ws, team.engineer, "churn", 2)  # the untouched version still verifies


def test_signature_by_an_untrusted_key_is_refused(team: Team) -> None:
    item = _register(team, "churn", 1)
    row = model_row(team.env, "churn", 1)
    obj = object_row(team.env, Kind.MODEL, "churn", 1)
    # A correct manifest of the real bytes, signed by someone else's key.
    forger = Ed25519PrivateKey.generate()
    manifest = manifest_of_digests("churn", {obj.source_name: (item.sha256, item.size)})
    forged = sign_manifest(manifest, Keyring.signing_key_id(forger.public_key()), forger)
    with team.ws.sessions.begin() as session:
        session.execute(
            update(ModelVersionRow).where(ModelVersionRow.id == row.id).values(signature=forged)
        )
    with pytest.raises(SignatureInvalid) as caught:
        promote(team.ws, team.engineer, "churn", 1)
    assert caught.value.code == "signature.unknown_key"
    assert stages(team.env, "churn") == {1: "staging"}


def test_signature_for_other_bytes_is_a_mismatch(team: Team) -> None:
    # A validly signed manifest (by the workspace key) of other content: an insider who
    # can sign still cannot make the stored bytes match it.
    item = _register(team, "churn", 1)
    row = model_row(team.env, "churn", 1)
    key_id, key = team.ws.keyring.model_signing_key()
    manifest = manifest_of_digests("churn", {"churn-1.onnx": ("ab" * 32, item.size)})
    with team.ws.sessions.begin() as session:
        session.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.id == row.id)
            .values(signature=sign_manifest(manifest, key_id, key))
        )
    with pytest.raises(SignatureInvalid) as caught:
        promote(team.ws, team.engineer, "churn", 1)
    assert caught.value.code == "signature.mismatch"
    assert "churn-1.onnx" in caught.value.message


# -- rollback -----------------------------------------------------------------------------


def test_rollback_returns_to_the_previous_production_version(team: Team) -> None:
    _production(team, "churn", 1, 2)
    assert stages(team.env, "churn") == {1: "archived", 2: "production"}
    with pytest.raises(PermissionDenied):
        rollback(team.ws, team.scientist, "churn")
    assert stages(team.env, "churn") == {1: "archived", 2: "production"}

    back = rollback(team.ws, team.engineer, "churn", reason="bad metrics")
    assert back == registry.Rollback("churn", 2, 1, {})
    assert stages(team.env, "churn") == {1: "production", 2: "archived"}
    assert stage_events(team.env, "churn")[-2:] == [
        (2, "production", "archived", "eve", "bad metrics"),
        (1, "archived", "production", "eve", "bad metrics"),
    ]
    again = rollback(team.ws, team.engineer, "churn")
    assert again == registry.Rollback("churn", 1, 2, {})
    assert stages(team.env, "churn") == {1: "archived", 2: "production"}
    assert stage_events(team.env, "churn")[-1] == (2, "archived", "production", "eve", "rollback")

    outcomes = [
        (a, o, d.get("to_version")) for a, o, _, d in audit_details(team.env, "model.rollback")
    ]
    assert outcomes == [("sam", "denied", None), ("eve", "success", 1), ("eve", "success", 2)]


def test_rollback_skips_a_tampered_version(team: Team) -> None:
    _production(team, "churn", 1, 2, 3)
    _edit_signature(team, "churn", 2)
    back = rollback(team.ws, team.engineer, "churn")
    assert (back.from_version, back.to_version) == (3, 1)
    assert back.skipped == {2: "signature.bad_signature"}
    assert stages(team.env, "churn") == {1: "production", 2: "archived", 3: "archived"}
    details = audit_details(team.env, "model.rollback")[-1][3]
    assert details["skipped"] == {"2": "signature.bad_signature"}


def _truncate_blob(team: Team, name: str, version: int) -> None:
    blob = blob_files(team.env)[model_row(team.env, name, version).object_id]
    blob.write_bytes(blob.read_bytes()[:-20])


def _delete_blob(team: Team, name: str, version: int) -> None:
    blob_files(team.env)[model_row(team.env, name, version).object_id].unlink()


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (lambda team: _swap_blob(team, "churn", victim=2, source=3), "vault.wrong_key"),
        (lambda team: _truncate_blob(team, "churn", 2), "vault.truncated"),
        (lambda team: _delete_blob(team, "churn", 2), "vault.blob_missing"),
    ],
    ids=["swapped", "truncated", "deleted"],
)
def test_rollback_skips_a_version_whose_blob_was_damaged(
    team: Team, damage: Callable[[Team], None], code: str
) -> None:
    # A damaged encrypted object no longer verifies: it is skipped like a bad signature,
    # and the rollback goes on to the next good version instead of failing.
    _production(team, "churn", 1, 2, 3)
    damage(team)
    back = rollback(team.ws, team.engineer, "churn")
    assert (back.from_version, back.to_version, back.skipped) == (3, 1, {2: code})
    assert stages(team.env, "churn") == {1: "production", 2: "archived", 3: "archived"}


def test_rollback_skips_a_shredded_version(team: Team) -> None:
    _production(team, "churn", 1, 2, 3)
    remove(team.ws, team.env.admin, Kind.MODEL, "churn", version=2)
    back = rollback(team.ws, team.engineer, "churn")
    assert (back.to_version, back.skipped) == (1, {2: "vault.shredded"})


def test_rollback_skips_a_version_that_no_longer_scans_clean(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    # v1 imports collections.OrderedDict: allow-listed when it was registered. After the
    # policy drops that global, v1 still verifies but no longer scans clean.
    v1 = register(
        team.ws,
        team.scientist,
        team.file("od.pkl", suspicious_pickle("collections", "OrderedDict")),
        "m",
    )
    assert v1.scan_verdict == "clean"
    promote(team.ws, team.engineer, "m", 1)
    promote(team.ws, team.engineer, "m", _register(team, "m", 2).version)
    policy = default_policy()
    stricter = replace(policy, safe_globals=policy.safe_globals - {"collections.OrderedDict"})
    monkeypatch.setattr("bastion.models.scan.policy.default_policy", lambda: stricter)
    with pytest.raises(NotFound) as caught:
        rollback(team.ws, team.engineer, "m")
    assert caught.value.details == {"skipped": {1: "model.not_clean"}}
    assert stages(team.env, "m") == {1: "archived", 2: "production"}


def test_rollback_without_a_good_target_changes_nothing(team: Team) -> None:
    _production(team, "churn", 1, 2)
    _edit_signature(team, "churn", 1)
    with pytest.raises(NotFound) as caught:
        rollback(team.ws, team.engineer, "churn")
    assert caught.value.code == "model.no_rollback_target"
    assert caught.value.details == {"skipped": {1: "signature.bad_signature"}}
    assert stages(team.env, "churn") == {1: "archived", 2: "production"}
    (*_, (_, outcome, _, details)) = audit_details(team.env, "model.rollback")
    assert outcome == "error" and details["error"] == "model.no_rollback_target"
    assert details["skipped"] == {"1": "signature.bad_signature"}

    # A version that was only ever in staging is no rollback target either.
    _register(team, "solo", 1)
    _register(team, "solo", 2)
    promote(team.ws, team.engineer, "solo", 2)
    with pytest.raises(NotFound) as none:
        rollback(team.ws, team.engineer, "solo")
    assert none.value.code == "model.no_rollback_target"


def test_rollback_needs_a_production_version(team: Team) -> None:
    _register(team, "churn", 1)
    with pytest.raises(NotFound) as caught:
        rollback(team.ws, team.engineer, "churn")
    assert caught.value.code == "model.no_production"
    with pytest.raises(NotFound) as unknown:
        rollback(team.ws, team.engineer, "nobody")
    assert unknown.value.code == "model.no_production"


# -- signing files on disk ----------------------------------------------------------------


def _export(root: Path) -> Path:
    folder = root / "export"
    write_onnx(folder / "model.onnx", 1)
    (folder / "README.md").write_text("churn model\n", encoding="utf-8")
    (folder / "config").mkdir()
    (folder / "config" / "labels.json").write_text('["stay", "churn"]\n', encoding="utf-8")
    return folder


def _refusal(path: Path, trusted: Any, **kw: Any) -> SignatureInvalid:
    with pytest.raises(SignatureInvalid) as caught:
        attest.verify(path, trusted, **kw)
    return caught.value


def test_sign_and_verify_a_folder(sqlite_team: Team) -> None:
    team = sqlite_team
    folder = _export(team.root)
    signed = attest.sign(team.ws, team.scientist, folder)
    assert Path(signed.signature) == folder / "model.sig"
    assert signed.files == 3 and signed.key_id == next(iter(trusted_keys(team.ws)))
    manifest = attest.verify(folder, trusted_keys(team.ws))
    assert [f.name for f in manifest.files] == ["README.md", "config/labels.json", "model.onnx"]
    assert manifest.root_digest == signed.root_digest
    ((actor, outcome, _, details),) = audit_details(team.env, "model.sign")
    assert (actor, outcome, details["files"]) == ("sam", "success", 3)

    # The public key as PEM, given to an outside verifier, accepts the same signature.
    pem = attest.public_key_pem(team.ws)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert attest.verify(folder, attest.load_public_key(pem.encode())) == manifest
    assert _refusal(folder, _pem_keys(Ed25519PrivateKey.generate())).code == (
        "signature.unknown_key"
    )
    with pytest.raises(InvalidInput) as bad_key:
        attest.load_public_key(b"not a key")
    assert bad_key.value.code == "signature.bad_key"

    model = folder / "model.onnx"
    original = model.read_bytes()
    model.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    changed = _refusal(folder, trusted_keys(team.ws))
    assert changed.code == "signature.mismatch" and "model.onnx" in changed.message
    assert changed.details["changed"] == ["model.onnx"]
    model.write_bytes(original)

    (folder / "config" / "extra.bin").write_bytes(b"\x00")
    added = _refusal(folder, trusted_keys(team.ws))
    assert added.details["added"] == ["config/extra.bin"] and "config/extra.bin" in added.message
    (folder / "config" / "extra.bin").unlink()

    (folder / "README.md").unlink()
    removed = _refusal(folder, trusted_keys(team.ws))
    assert removed.details["removed"] == ["README.md"] and "README.md" in removed.message
    (folder / "README.md").write_text("churn model\n", encoding="utf-8")
    attest.verify(folder, trusted_keys(team.ws))

    (folder / "model.sig").unlink()
    assert _refusal(folder, trusted_keys(team.ws)).code == "signature.missing"


def _pem_keys(key: Ed25519PrivateKey) -> Any:
    from cryptography.hazmat.primitives import serialization

    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return attest.load_public_key(pem)


def test_sign_a_single_file_with_a_chosen_signature_path(sqlite_team: Team) -> None:
    team = sqlite_team
    path, _, _ = write_onnx(team.root / "m.onnx", 3)
    default = attest.sign(team.ws, team.engineer, path)
    assert default.signature == f"{path}.sig" and default.files == 1
    attest.verify(path, trusted_keys(team.ws))
    chosen = team.root / "sigs" / "m.bundle"
    chosen.parent.mkdir()
    attest.sign(team.ws, team.engineer, path, signature=chosen)
    attest.verify(path, trusted_keys(team.ws), signature=chosen)
    path.write_bytes(path.read_bytes() + b"\x00")
    assert _refusal(path, trusted_keys(team.ws), signature=chosen).code == "signature.mismatch"
    with pytest.raises(PermissionDenied):
        attest.sign(team.ws, team.analyst, path)


def test_data_keys_of_refused_models_are_never_written(team: Team) -> None:
    # Refusals happen before a data key is made: no key row is left behind to shred.
    before = _key_count(team)
    for data in (MALICIOUS_PICKLE, suspicious_pickle()):
        with pytest.raises(ModelRejected):
            register(team.ws, team.scientist, team.file("x.pkl", data), "x")
    assert _key_count(team) == before


def _key_count(team: Team) -> int:
    with team.ws.sessions() as session:
        return len(list(session.scalars(select(DataKeyRow.id))))


def test_a_signature_moved_to_another_version_is_refused(team: Team) -> None:
    # An operator with database write access copies v1's object and signature onto v2's
    # row: bytes and signature agree, but they were signed as churn@v1.
    _register(team, "churn", 1)
    _register(team, "churn", 2)
    first = model_row(team.env, "churn", 1)
    with team.ws.sessions.begin() as session:
        second = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.name == "churn", ModelVersionRow.version == 2
            )
        ).one()
        v1_object = session.get(VaultObjectRow, first.object_id)
        assert v1_object is not None
        v2_object = session.get(VaultObjectRow, second.object_id)
        assert v2_object is not None
        # Make v2's vault record describe v1's blob and key, then give it v1's signature.
        for column in ("sha256", "size", "data_key_id", "source_name"):
            setattr(v2_object, column, getattr(v1_object, column))
        second.signature = dict(first.signature)
    _swap_blob(team, "churn", victim=2, source=1)
    with pytest.raises(SignatureInvalid) as caught:
        promote(team.ws, team.engineer, "churn", 2)
    assert caught.value.code == "signature.mismatch" and "churn@v1" in caught.value.message
    assert stages(team.env, "churn") == {1: "staging", 2: "staging"}


# -- model-signing key rotation ------------------------------------------------------------


def test_rotated_keys_keep_verifying_until_revoked(team: Team) -> None:
    admin = team.env.admin
    first = _register(team, "churn", 1)
    old, new = attest.rotate_signing_key(team.ws, admin)
    assert old == first.signature_key_id and new != old
    second = _register(team, "churn", 2)
    assert second.signature_key_id == new
    # What the retired key signed still verifies: v1 can be promoted after the rotation.
    promote(team.ws, team.engineer, "churn", 1)
    states = {k["id"]: k["state"] for k in attest.signing_keys(team.ws, admin)}
    assert states == {new: "active", old: "retired"}

    with pytest.raises(KeyringError) as active:
        attest.revoke_signing_key(team.ws, admin, new)
    assert active.value.code == "keyring.key_active"
    attest.revoke_signing_key(team.ws, admin, old)
    assert {k["id"]: k["state"] for k in attest.signing_keys(team.ws, admin)}[old] == "revoked"
    # Revoked: v1 no longer verifies anywhere; v2 (new key) still does.
    with pytest.raises(SignatureInvalid) as revoked:
        promote(team.ws, team.engineer, "churn", 1)
    assert revoked.value.code == "signature.unknown_key"
    promote(team.ws, team.engineer, "churn", 2)
    with pytest.raises(KeyringError) as unknown:
        attest.revoke_signing_key(team.ws, admin, "ed25519:" + "0" * 32)
    assert unknown.value.code == "keyring.no_key"
    ((_, outcome, _, details),) = audit_details(team.env, "model.signing_key.rotate")
    assert outcome == "success" and details["retired"] == old and details["active"] == new


def test_only_an_admin_rotates_signing_keys(team: Team) -> None:
    for who in (team.engineer, team.scientist):
        with pytest.raises(PermissionDenied):
            attest.rotate_signing_key(team.ws, who)


# -- the input schema recorded from the training data ---------------------------------------


def _training_csv(team: Team, name: str = "train.csv") -> Path:
    """200 rows: x (float), n (int), y (float) and the label; the model takes y, x, n."""
    rng = np.random.default_rng(3)
    team.root.mkdir(parents=True, exist_ok=True)
    path = team.root / name
    pl.DataFrame(
        {
            "x": rng.normal(0, 1, 200),
            "n": rng.integers(0, 10, 200),
            "y": rng.normal(5, 2, 200),
            "label": rng.integers(0, 2, 200),
        }
    ).write_csv(path)
    return path


def _with_schema(team: Team, name: str = "scored") -> registry.ModelVersion:
    return _register(
        team,
        name,
        1,
        training_data=_training_csv(team),
        target="label",
        features=["y", "x", "n"],
    )


def _edit_schema(team: Team, name: str, doc: dict[str, Any] | None) -> None:
    """An insider rewrites the stored schema in the database, behind the registry's back."""
    with team.ws.sessions.begin() as session:
        session.execute(
            update(ModelVersionRow).where(ModelVersionRow.name == name).values(input_schema=doc)
        )


def test_registration_records_and_signs_the_input_schema(team: Team) -> None:
    item = _with_schema(team)
    # The listing carries the stored document; the helper parses it.
    assert item.input_schema is not None and item.input_schema["version"] == 1
    listed = registry.input_schema(item)
    assert listed is not None
    assert [(f.name, f.dtype) for f in listed.features] == [
        ("y", "float"),
        ("x", "float"),
        ("n", "int"),
    ]
    assert listed.rows == 200 and listed.features[2].min == 0 and listed.features[2].max == 9
    # What serving reads is the same schema, checked against the signed provenance.
    verified = registry.verified_input_schema(team.ws, "scored", 1)
    assert verified == listed
    statement = registry.provenance(team.ws, team.scientist, "scored", version=1)
    internal = statement["predicate"]["buildDefinition"]["internalParameters"]
    assert internal["inputSchemaSha256"] == verified.digest()
    assert model_row(team.env, "scored", 1).input_schema == verified.as_dict()
    ((_, outcome, _, details),) = audit_details(team.env, "model.add")
    assert outcome == "success" and details["input_schema"] == {"features": 3, "rows": 200}
    (again,) = registry.versions(team.ws, team.scientist, "scored")
    assert again.input_schema == item.input_schema


def test_a_version_without_training_data_has_no_schema(team: Team) -> None:
    item = _register(team, "plain", 1)
    assert item.input_schema is None and registry.input_schema(item) is None
    assert registry.verified_input_schema(team.ws, "plain", 1) is None
    statement = registry.provenance(team.ws, team.scientist, "plain", version=1)
    assert "inputSchemaSha256" not in statement["predicate"]["buildDefinition"].get(
        "internalParameters", {}
    )


def test_an_edited_input_schema_is_caught(team: Team) -> None:
    doc = _with_schema(team).input_schema
    assert doc is not None
    widened = json.loads(json.dumps(doc))
    widened["features"][0]["max"] = 1e9  # accept any y: a wider door for evasion
    _edit_schema(team, "scored", widened)
    with pytest.raises(ModelRejected) as caught:
        registry.verified_input_schema(team.ws, "scored", 1)
    assert caught.value.code == "model.schema_tampered"
    _edit_schema(team, "scored", None)  # removed: serving would go unvalidated
    with pytest.raises(ModelRejected) as removed:
        registry.verified_input_schema(team.ws, "scored", 1)
    assert removed.value.code == "model.schema_tampered"
    _edit_schema(team, "scored", doc)  # put back as signed: verifies again
    assert registry.verified_input_schema(team.ws, "scored", 1) is not None


def test_a_schema_added_to_a_version_without_one_is_caught(team: Team) -> None:
    donor = _with_schema(team, "donor").input_schema
    _register(team, "plain", 2)
    _edit_schema(team, "plain", donor)
    with pytest.raises(ModelRejected) as caught:
        registry.verified_input_schema(team.ws, "plain", 1)
    assert caught.value.code == "model.schema_tampered"


def test_a_malformed_stored_schema_is_refused(team: Team) -> None:
    _with_schema(team)
    _edit_schema(team, "scored", {"version": 99})
    with pytest.raises(InvalidInput) as caught:
        registry.verified_input_schema(team.ws, "scored", 1)
    assert caught.value.code == "model.schema_invalid"


@pytest.mark.parametrize(
    ("content", "target", "code"),
    [
        (None, None, "model.schema_unreadable"),  # no such file
        ("x,label\n1,0\n", "churned", "model.schema_bad_column"),
        ("\x00\x01binary", None, "model.schema_unreadable"),
    ],
)
def test_bad_training_data_changes_nothing(
    team: Team, content: str | None, target: str | None, code: str
) -> None:
    model, _, _ = write_onnx(team.root / "m.onnx", 1)
    data = team.root / ("train.csv" if content is not None else "absent.csv")
    if content is not None:
        data.write_text(content)
    with pytest.raises(InvalidInput) as caught:
        register(team.ws, team.scientist, model, "scored", training_data=data, target=target)
    assert caught.value.code == code
    _nothing_stored(team)
    ((_, outcome, _, _),) = audit_details(team.env, "model.add")
    assert outcome != "success"
