"""The safe loader: resolve, decrypt, verify, re-scan, then build ONNX Runtime or NumPy.

Runs on SQLite and on PostgreSQL (see ``db_url``).
"""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from safetensors.numpy import save as save_safetensors
from sqlalchemy import select

from bastion.db.models import ModelVersionRow
from bastion.errors import (
    EncryptedObjectError,
    ModelRejected,
    NotFound,
    PermissionDenied,
    SignatureInvalid,
)
from bastion.models.loading import load_model
from bastion.models.registry import promote, register
from tests.models.conftest import (
    Team,
    affine,
    audit_details,
    benign_pickle,
    onnx_bytes,
    stages,
    suspicious_pickle,
    write_onnx,
)
from tests.vault.helpers import blob_files

X = np.array([[35.0, 12.0, 80.0], [0.5, -1.0, 2.0]], dtype=np.float32)


def _onnx(team: Team, name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    path, w, b = write_onnx(team.root / f"{name}-{seed}.onnx", seed)
    register(team.ws, team.scientist, path, name)
    return w, b


def test_onnx_loads_as_a_working_session(team: Team) -> None:
    w, b = _onnx(team, "churn", 1)
    promote(team.ws, team.engineer, "churn", 1)

    loaded = load_model(team.ws, team.engineer, "churn")
    assert loaded.format == "onnx" and loaded.version.version == 1
    assert loaded.version.stage == "production"
    assert loaded.signature_key_id == loaded.version.signature_key_id
    assert isinstance(loaded.runtime, onnxruntime.InferenceSession)
    assert loaded.runtime.get_providers() == ["CPUExecutionProvider"]
    (y,) = loaded.runtime.run(None, {"x": X})
    np.testing.assert_allclose(y, X @ w + b, rtol=1e-5, atol=1e-5)

    ((actor, outcome, resource, details),) = audit_details(team.env, "model.load")
    assert (actor, outcome, resource) == ("eve", "success", "model/churn@1")
    assert details["version"] == 1 and details["format"] == "onnx"
    assert details["signature"] == "verified" and details["permission"] == "model:read"


def test_safetensors_loads_as_numpy_arrays(team: Team) -> None:
    rng = np.random.default_rng(7)
    arrays: dict[str, np.ndarray] = {
        "encoder.weight": rng.standard_normal((8, 5)).astype(np.float32),
        "encoder.bias": np.arange(5, dtype=np.int64),
        "scale": np.array([0.5, 2.0], dtype=np.float64),
    }
    path = team.file("emb.safetensors", save_safetensors(arrays))
    register(team.ws, team.scientist, path, "emb")

    # Still in staging: loaded by explicit version.
    loaded = load_model(team.ws, team.scientist, "emb", version=1)
    assert loaded.format == "safetensors" and loaded.version.stage == "staging"
    assert set(loaded.runtime) == set(arrays)
    for key, value in arrays.items():
        assert loaded.runtime[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded.runtime[key], value)


def test_resolves_production_by_default_and_versions_or_stages_on_request(team: Team) -> None:
    w1, b1 = _onnx(team, "churn", 1)
    w2, b2 = _onnx(team, "churn", 2)
    promote(team.ws, team.engineer, "churn", 1)

    def predict(**kw: object) -> tuple[int, np.ndarray]:
        loaded = load_model(team.ws, team.engineer, "churn", **kw)  # type: ignore[arg-type]
        (y,) = loaded.runtime.run(None, {"x": X})
        return loaded.version.version, y

    version, y = predict()
    assert version == 1
    np.testing.assert_allclose(y, X @ w1 + b1, rtol=1e-5, atol=1e-5)
    version, y = predict(version=2)
    assert version == 2
    np.testing.assert_allclose(y, X @ w2 + b2, rtol=1e-5, atol=1e-5)
    assert predict(stage="staging")[0] == 2

    promote(team.ws, team.engineer, "churn", 2)
    assert predict()[0] == 2
    assert predict(stage="archived")[0] == 1
    resources = [r for _, _, r, _ in audit_details(team.env, "model.load")]
    assert resources == [
        "model/churn@1",
        "model/churn@2",
        "model/churn@2",
        "model/churn@2",
        "model/churn@1",
    ]


def test_unknown_names_versions_and_stages_are_not_found(team: Team) -> None:
    _onnx(team, "churn", 1)
    cases = [
        {"name": "nobody"},
        {"name": "churn"},  # no production version yet
        {"name": "churn", "version": 5},
        {"name": "churn", "stage": "archived"},
        {"name": "churn", "stage": "canary"},
    ]
    for case in cases:
        with pytest.raises(NotFound) as caught:
            load_model(team.ws, team.engineer, **case)  # type: ignore[arg-type]
        assert caught.value.code == "model.not_found", case
    outcomes = {(o, d["error"]) for _, o, _, d in audit_details(team.env, "model.load")}
    assert outcomes == {("error", "model.not_found")}


def test_loading_needs_model_read(team: Team) -> None:
    _onnx(team, "churn", 1)
    promote(team.ws, team.engineer, "churn", 1)
    with pytest.raises(PermissionDenied) as caught:
        load_model(team.ws, team.analyst, "churn")
    assert caught.value.code == "access.denied"
    ((actor, outcome, _, _),) = audit_details(team.env, "model.load")
    assert (actor, outcome) == ("ann", "denied")


def test_pickle_formats_are_never_loaded(team: Team) -> None:
    # A pickle that scans clean (no globals at all) may even reach production: the loader
    # still refuses to deserialize it.
    register(team.ws, team.scientist, team.file("list.pkl", benign_pickle()), "plain")
    promote(team.ws, team.engineer, "plain", 1)
    assert stages(team.env, "plain") == {1: "production"}
    for kw in ({}, {"version": 1}):
        with pytest.raises(ModelRejected) as caught:
            load_model(team.ws, team.engineer, "plain", **kw)  # type: ignore[arg-type]
        assert caught.value.code == "model.unloadable_format"

    # A suspicious pickle registered with an override is refused too (it is not clean,
    # which the loader checks before the format).
    path = team.file("odd.pkl", suspicious_pickle())
    register(team.ws, team.scientist, path, "odd", allow_suspicious="reviewed by X")
    with pytest.raises(ModelRejected) as override:
        load_model(team.ws, team.engineer, "odd", version=1)
    assert override.value.code == "model.not_clean"
    errors = [d["error"] for _, o, _, d in audit_details(team.env, "model.load")]
    assert errors == ["model.unloadable_format", "model.unloadable_format", "model.not_clean"]


def test_a_tampered_version_is_refused(team: Team) -> None:
    _onnx(team, "churn", 1)
    promote(team.ws, team.engineer, "churn", 1)
    with team.ws.sessions.begin() as session:
        row = session.scalars(select(ModelVersionRow).where(ModelVersionRow.name == "churn")).one()
        bundle = dict(row.signature)
        envelope = dict(bundle["dsseEnvelope"])  # type: ignore[call-overload]
        payload = envelope["payload"]
        envelope["payload"] = payload[:-8] + ("A" if payload[-8] != "A" else "B") + payload[-7:]
        bundle["dsseEnvelope"] = envelope
        row.signature = bundle
    with pytest.raises(SignatureInvalid) as caught:
        load_model(team.ws, team.engineer, "churn")
    assert caught.value.code == "signature.bad_signature"
    ((_, outcome, _, details),) = audit_details(team.env, "model.load")
    assert outcome == "error" and details["error"] == "signature.bad_signature"


def test_a_clean_file_the_runtime_rejects_is_a_load_failure(team: Team) -> None:
    # Scans clean (ONNX with only a standard-domain node), but no such operator exists.
    w, b = affine(3)
    path = team.file("weird.onnx", onnx_bytes(w, b, op="NotARealOp"))
    register(team.ws, team.scientist, path, "weird")
    with pytest.raises(ModelRejected) as caught:
        load_model(team.ws, team.engineer, "weird", version=1)
    assert caught.value.code == "model.load_failed"


def test_a_swapped_blob_is_refused(team: Team) -> None:
    # v1's encrypted blob replaced by v2's (authentic ciphertext of this vault, under
    # another data key): refused before any byte reaches a runtime.
    _onnx(team, "churn", 1)
    _onnx(team, "churn", 2)
    promote(team.ws, team.engineer, "churn", 1)
    blobs = blob_files(team.env)
    with team.ws.sessions() as session:
        ids = dict(
            session.execute(select(ModelVersionRow.version, ModelVersionRow.object_id)).all()
        )
    blobs[ids[1]].write_bytes(blobs[ids[2]].read_bytes())
    with pytest.raises(EncryptedObjectError) as caught:
        load_model(team.ws, team.engineer, "churn")
    assert caught.value.code == "vault.wrong_key"
    assert load_model(team.ws, team.engineer, "churn", version=2).version.version == 2
