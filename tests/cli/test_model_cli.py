"""``bastion model`` supply-chain commands end to end through the real CLI: scan, add,
versions, promote, rollback, sign, verify, signing-key, check."""

from __future__ import annotations

import random
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.demo_supply_chain import MALICIOUS_PICKLE
from tests.cli.conftest import Admin, Cli
from tests.models.conftest import suspicious_pickle, write_onnx

SCAN_KEYS = {"path", "verdict", "format", "findings", "error", "size", "sha256", "seconds"}


def test_scan_exit_codes_and_json(cli: Cli, tmp_path: Path) -> None:
    clean, _, _ = write_onnx(tmp_path / "models" / "clean.onnx", 1)
    evil = tmp_path / "evil" / "model.pkl"
    evil.parent.mkdir()
    evil.write_bytes(MALICIOUS_PICKLE)
    junk = tmp_path / "junk" / "weights.bin"
    junk.parent.mkdir()
    junk.write_bytes(random.Random(0).randbytes(512))

    ok = cli("model", "scan", str(clean), "--json")
    assert ok.code == 0, str(ok)
    (doc,) = ok.json()
    assert set(doc) == SCAN_KEYS
    assert (doc["verdict"], doc["format"], doc["findings"], doc["error"]) == (
        "clean",
        "onnx",
        [],
        None,
    )
    assert doc["size"] == clean.stat().st_size and len(doc["sha256"]) == 64

    flagged = cli("model", "scan", str(evil), "--json")
    assert flagged.code == 1, str(flagged)
    (doc,) = flagged.json()
    assert doc["verdict"] == "malicious"
    (finding,) = doc["findings"]
    assert finding["global"] == "posix.system" and finding["severity"] == "critical"
    assert isinstance(finding["offset"], int) and "AML.T0011.000" in finding["threats"]

    error = cli("model", "scan", str(junk), "--json")
    assert error.code == 2, str(error)
    assert error.json()[0]["verdict"] == "error" and error.json()[0]["error"]

    # Flagged beats unscannable; a folder is walked; the table names the verdicts.
    mixed = cli("model", "scan", str(tmp_path / "models"), str(evil), str(junk))
    assert mixed.code == 1, str(mixed)
    assert "3 file(s): 1 clean, 0 suspicious, 1 malicious, 1 error." in mixed.out
    assert cli("model", "scan", str(junk), str(clean)).code == 2


def test_add_versions_promote_rollback(cli: Cli, admin: Admin, tmp_path: Path) -> None:
    v1, _, _ = write_onnx(tmp_path / "churn-v1.onnx", 1)
    v2, _, _ = write_onnx(tmp_path / "churn-v2.onnx", 2)
    evil = tmp_path / "churn.pkl"
    evil.write_bytes(MALICIOUS_PICKLE)

    refused = cli.fails(12, "model.malicious", "model", "add", str(evil), "--name", "churn")
    assert "posix.system" in refused.err
    assert (
        cli.fails(
            12, "model.malicious", "model", "add", str(evil), "--name", "churn", "--json"
        ).json()["error"]["code"]
        == "model.malicious"
    )

    added = cli.ok(
        "model",
        "add",
        str(v1),
        "--name",
        "churn",
        "--code-revision",
        "a" * 40,
        "--param",
        "C=1.0",
        "--json",
    ).json()
    assert (added["name"], added["version"], added["stage"]) == ("churn", 1, "staging")
    assert (added["scan_verdict"], added["format"], added["framework"]) == ("clean", "onnx", "onnx")
    assert added["signature_key_id"].startswith("ed25519:") and added["override_reason"] is None
    text = cli.ok("model", "add", str(v2), "--name", "churn")
    assert "Registered model churn@2: stage staging, onnx, scan clean" in text.out
    cli.fails(2, "input.bad_param", "model", "add", str(v2), "--name", "churn", "--param", "C")

    listed = cli.ok("model", "versions", "churn", "--json").json()
    assert [(v["version"], v["stage"], v["scan_verdict"]) for v in listed] == [
        (1, "staging", "clean"),
        (2, "staging", "clean"),
    ]
    assert {v["registered_by"] for v in listed} == {"admin"}
    assert "churn" in cli.ok("model", "versions", "churn").out
    cli.fails(3, "model.not_found", "model", "versions", "nobody")

    promoted = cli.ok("model", "promote", "churn", "1", "--reason", "first", "--json").json()
    assert (promoted["version"], promoted["stage"]) == (1, "production")
    assert (
        "Promoted model churn@2: stage production" in cli.ok("model", "promote", "churn", "2").out
    )
    cli.fails(2, "model.bad_stage", "model", "promote", "churn", "1", "--stage", "canary")
    stages = [v["stage"] for v in cli.ok("model", "versions", "churn", "--json").json()]
    assert stages == ["archived", "production"]

    back = cli.ok("model", "rollback", "churn", "--reason", "drift", "--json").json()
    assert back == {"name": "churn", "from_version": 2, "to_version": 1, "skipped": {}}
    again = cli.ok("model", "rollback", "churn")
    assert "production is v2 (was v1, now archived)" in again.out
    cli.fails(3, "model.no_production", "model", "rollback", "nobody")

    checked = cli.ok("model", "check", "--json").json()
    assert [(c["name"], c["version"], c["error"]) for c in checked] == [
        ("churn", 1, None),
        ("churn", 2, None),
    ]
    events = cli.ok("audit", "query", "--action", "model.rollback", "--json").json()
    assert [e["outcome"] for e in events] == ["success", "success", "error"]


def test_suspicious_model_needs_a_reason(cli: Cli, admin: Admin, tmp_path: Path) -> None:
    odd = tmp_path / "helper.pkl"
    odd.write_bytes(suspicious_pickle("mypkg.helpers", "Thing"))
    refused = cli.fails(12, "model.suspicious", "model", "add", str(odd), "--name", "odd")
    assert "--allow-suspicious" in refused.err
    added = cli.ok(
        "model", "add", str(odd), "--name", "odd", "--allow-suspicious", "reviewed by X", "--json"
    ).json()
    assert (added["scan_verdict"], added["override_reason"]) == ("suspicious", "reviewed by X")
    (listed,) = cli.ok("model", "versions", "odd", "--json").json()
    assert (listed["scan_verdict"], listed["findings"]) == ("suspicious", 1)
    assert listed["override_reason"] == "reviewed by X"
    cli.fails(12, "model.not_clean", "model", "promote", "odd", "1")
    events = cli.ok("audit", "query", "--action", "model.add", "--json").json()
    assert [(e["outcome"], e["details"].get("override")) for e in events] == [
        ("error", None),
        ("success", "reviewed by X"),
    ]


def test_sign_verify_and_signing_key(cli: Cli, admin: Admin, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    write_onnx(folder / "model.onnx", 1)
    (folder / "README.md").write_text("churn model\n", encoding="utf-8")

    signed = cli.ok("model", "sign", str(folder), "--json").json()
    assert signed["signature"] == str(folder / "model.sig") and signed["files"] == 2
    verified = cli.ok("model", "verify", str(folder), "--json").json()
    assert verified == {"path": str(folder), "verified": True, "files": ["README.md", "model.onnx"]}
    assert "signature valid, no changes" in cli.ok("model", "verify", str(folder)).out

    pem = cli.ok("model", "signing-key").out
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and pem.rstrip().endswith("KEY-----")
    key = tmp_path / "bastion.pem"
    key.write_text(pem, encoding="utf-8")
    # An outside verifier needs only the PEM, not the workspace.
    cli.delenv("BASTION_WORKSPACE")
    cli.ok("model", "verify", str(folder), "--key", str(key))
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    cli.fails(13, "signature.unknown_key", "model", "verify", str(folder), "--key", str(stranger))
    cli.fails(
        2, "signature.bad_key", "model", "verify", str(folder), "--key", str(folder / "README.md")
    )

    model = folder / "model.onnx"
    data = model.read_bytes()
    model.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    changed = cli.fails(13, "signature.mismatch", "model", "verify", str(folder), "--key", str(key))
    assert "model.onnx" in changed.err
    as_json = cli.fails(
        13, "signature.mismatch", "model", "verify", str(folder), "--key", str(key), "--json"
    ).json()
    assert as_json["error"]["code"] == "signature.mismatch"

    single, _, _ = write_onnx(tmp_path / "single.onnx", 2)
    cli.fails(13, "signature.missing", "model", "verify", str(single), "--key", str(key))


def test_model_signing_key_rotation(cli: Cli, admin: Admin, tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    write_onnx(model, 1)
    first = cli.ok("model", "add", str(model), "--name", "m", "--json").json()
    (active,) = cli.ok("keyring", "model-keys", "--json").json()
    assert active == {"id": first["signature_key_id"], "version": 1, "state": "active"}
    rotated = cli.ok("keyring", "rotate-model-key", "--json").json()
    assert rotated["retired"] == first["signature_key_id"]
    cli.ok("model", "promote", "m", "1")  # signed by the retired key: still trusted
    cli.fails(8, "keyring.key_active", "keyring", "revoke-model-key", rotated["active"])
    cli.ok("keyring", "revoke-model-key", rotated["retired"])
    states = {k["id"]: k["state"] for k in cli.ok("keyring", "model-keys", "--json").json()}
    assert states == {rotated["active"]: "active", rotated["retired"]: "revoked"}
    cli.fails(13, "signature.unknown_key", "model", "promote", "m", "1")


def test_add_with_training_data_records_the_input_schema(
    cli: Cli, admin: Admin, tmp_path: Path
) -> None:
    model, _, _ = write_onnx(tmp_path / "scored.onnx", 1)
    train = tmp_path / "train.csv"
    rng = random.Random(1)
    train.write_text(
        "x,y,label\n" + "".join(f"{rng.random()},{rng.random()},{i % 2}\n" for i in range(200))
    )
    bad = cli.fails(
        2,
        "model.schema_bad_column",
        "model",
        "add",
        str(model),
        "--name",
        "scored",
        "--training-data",
        str(train),
        "--target",
        "nope",
    )
    assert "nope" in bad.err
    cli.ok(
        "model",
        "add",
        str(model),
        "--name",
        "scored",
        "--training-data",
        str(train),
        "--target",
        "label",
        "--feature",
        "y",
        "--feature",
        "x",
    )
    from bastion.config import load_settings
    from bastion.models import registry
    from bastion.workspace import open_workspace

    with open_workspace(load_settings()) as ws:
        schema = registry.verified_input_schema(ws, "scored", 1)
    assert schema is not None and [f.name for f in schema.features] == ["y", "x"]
    assert schema.rows == 200
