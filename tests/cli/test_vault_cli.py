"""``bastion data``, ``model`` and ``keyring`` end to end through the real CLI."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import numpy as np
from safetensors.numpy import save as save_safetensors

from tests.cli.conftest import Admin, Cli
from tests.conftest import Hsm


def _file(path: Path, size: int, seed: int = 0) -> bytes:
    data = hashlib.shake_256(f"{seed}".encode()).digest(size)
    path.write_bytes(data)
    return data


def _blob_files(cli: Cli) -> list[Path]:
    return sorted((cli.workspace / ".bastion" / "blobs").rglob("*.bstm"))


def test_dataset_lifecycle(cli: Cli, admin: Admin, tmp_path: Path) -> None:
    data = _file(tmp_path / "customers.csv", 3 * 1024 * 1024 + 5)
    added = cli.ok(
        "data",
        "add",
        str(tmp_path / "customers.csv"),
        "--name",
        "customers",
        "--classification",
        "restricted",
        "--json",
    ).json()
    assert added["version"] == 1 and added["size"] == len(data)
    assert added["sha256"] == hashlib.sha256(data).hexdigest()
    assert added["classification"] == "restricted" and added["owner"] == "admin"
    assert added["kek"] == "local/v1 (aes-256-gcm)" and added["cipher"] == "aes-256-gcm"
    # The blob on disk is ciphertext: no 64-byte window of the plaintext appears in it.
    (blob,) = _blob_files(cli)
    assert data[1000:1064] not in blob.read_bytes()
    assert stat.S_IMODE(os.stat(blob).st_mode) == 0o600

    second = cli.ok("data", "add", str(tmp_path / "customers.csv"), "--name", "customers")
    assert "Stored dataset customers@2" in second.out

    listed = cli.ok("data", "list", "--json").json()
    assert [(d["name"], d["version"]) for d in listed] == [("customers", 2)]
    info = cli.ok("data", "info", "customers", "--json").json()
    assert [v["version"] for v in info] == [1, 2]
    assert info[0]["classification"] == "restricted" and info[1]["classification"] == "confidential"

    out = tmp_path / "back.csv"
    got = cli.ok("data", "get", "customers", "--version", "1", "-o", str(out))
    assert "sha256 verified" in got.out
    assert out.read_bytes() == data
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    cli.fails(4, "vault.output_exists", "data", "get", "customers", "-o", str(out))
    cli.ok("data", "get", "customers", "-o", str(out), "--force")
    cli.fails(3, "vault.not_found", "data", "get", "customers", "--version", "9", "-o", "x")
    cli.fails(3, "vault.not_found", "data", "get", "nobody", "-o", str(tmp_path / "y"))

    # Refused input changes nothing.
    cli.fails(
        2,
        "vault.bad_classification",
        "data",
        "add",
        str(out),
        "--name",
        "c2",
        "--classification",
        "secret",
    )
    cli.fails(2, "vault.bad_name", "data", "add", str(out), "--name", "../etc")
    cli.fails(2, "vault.no_such_file", "data", "add", str(tmp_path / "nope"), "--name", "c3")
    assert [d["name"] for d in cli.ok("data", "list", "--json").json()] == ["customers"]

    # Declining the confirmation shreds nothing.
    aborted = cli("data", "rm", "customers", "--version", "2", stdin="n\n")
    assert aborted.code == 1
    assert cli.ok("data", "list", "--json").json()[0]["version"] == 2

    shred = cli.ok("data", "rm", "customers", "--version", "2", "--yes", "--json").json()
    assert shred["versions"] == [2] and shred["bytes"] == len(data)
    assert len(_blob_files(cli)) == 1
    cli.fails(3, "vault.shredded", "data", "get", "customers", "--version", "2", "-o", "z")
    info = cli.ok("data", "info", "customers", "--json").json()
    assert [(v["version"], v["state"], v["kek"]) for v in info] == [
        (1, "active", "local/v1 (aes-256-gcm)"),
        (2, "shredded", "shredded"),
    ]
    # Version numbers are never reused after a shred.
    third = cli.ok("data", "add", str(out), "--name", "customers", "--json").json()
    assert third["version"] == 3

    events = cli.ok("audit", "query", "--action", "data.get", "--json").json()
    reads = [e for e in events if e["outcome"] == "success"]
    assert reads and all(e["details"]["bytes"] == len(data) for e in reads)


def test_tampered_blob_is_refused_without_output(cli: Cli, admin: Admin, tmp_path: Path) -> None:
    _file(tmp_path / "d.bin", 200_000)
    cli.ok("data", "add", str(tmp_path / "d.bin"), "--name", "d")
    (blob,) = _blob_files(cli)
    raw = bytearray(blob.read_bytes())
    raw[150_000] ^= 0x10
    blob.write_bytes(bytes(raw))
    out = tmp_path / "out.bin"
    result = cli.fails(11, "vault.tampered", "data", "get", "d", "-o", str(out), "--json")
    assert result.json()["error"]["code"] == "vault.tampered"
    assert not out.exists()
    assert list(tmp_path.glob(".out.bin*")) == []

    blob.write_bytes(bytes(raw[: len(raw) - 100]))
    cli.fails(11, "vault.truncated", "data", "get", "d", "-o", str(out))
    assert not out.exists()


def test_models_lineage_and_key_rotation(cli: Cli, admin: Admin, tmp_path: Path) -> None:
    data = _file(tmp_path / "train.csv", 100_000, seed=1)
    weights = np.random.default_rng(2).standard_normal((100, 125)).astype(np.float32)
    model = save_safetensors({"w": weights})
    (tmp_path / "model.safetensors").write_bytes(model)
    cli.ok("data", "add", str(tmp_path / "train.csv"), "--name", "train")
    cli.fails(
        3,
        "vault.not_found",
        "model",
        "add",
        str(tmp_path / "model.safetensors"),
        "--name",
        "churn",
        "--trained-on",
        "train@7",
    )
    added = cli.ok(
        "model",
        "add",
        str(tmp_path / "model.safetensors"),
        "--name",
        "churn",
        "--trained-on",
        "train@1",
        "--json",
    ).json()
    assert added["lineage"] == {
        "dataset": "train",
        "version": 1,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert "train@1" in cli.ok("model", "info", "churn").out
    assert [m["name"] for m in cli.ok("model", "list", "--json").json()] == ["churn"]
    # A model is not a dataset.
    cli.fails(3, "vault.not_found", "data", "get", "churn", "-o", str(tmp_path / "m"))

    before = {p: p.read_bytes() for p in _blob_files(cli)}
    versions = cli.ok("keyring", "list", "--json").json()
    assert [(v["version"], v["state"], v["data_keys"]) for v in versions] == [(1, "active", 2)]
    rotated = cli.ok("keyring", "rotate", "--algorithm", "x25519-mlkem768", "--json").json()
    assert rotated == {
        "provider": "local",
        "version": 2,
        "algorithm": "x25519-mlkem768",
        "rewrapped": 2,
        "remaining": 0,
    }
    assert {p: p.read_bytes() for p in _blob_files(cli)} == before  # no object re-encrypted
    cli.fails(4, "keyring.version_active", "keyring", "retire", "2")
    retired = cli.ok("keyring", "retire", "1", "--destroy", "--json").json()
    assert retired["state"] == "destroyed"
    cli.fails(4, "keyring.version_destroyed", "keyring", "retire", "1")
    cli.ok("model", "get", "churn", "-o", str(tmp_path / "m.onnx"))
    assert (tmp_path / "m.onnx").read_bytes() == model
    cli.fails(2, "keyring.unknown_algorithm", "keyring", "rotate", "--algorithm", "rot13")
    resumed = cli.ok("keyring", "rotate", "--resume", "--json").json()
    assert resumed["rewrapped"] == 0 and resumed["version"] == 2
    states = [(v["version"], v["state"]) for v in cli.ok("keyring", "list", "--json").json()]
    assert states == [(1, "destroyed"), (2, "active")]
    actions = {e["action"] for e in cli.ok("audit", "query", "--json").json()}
    assert {
        "keyring.create_version",
        "keyring.rotate",
        "keyring.destroy",
        "keyring.rewrap",
    } <= actions


def test_api_keys_reach_only_what_their_scope_allows(
    cli: Cli, admin: Admin, tmp_path: Path
) -> None:
    _file(tmp_path / "d.bin", 10_000)
    cli.ok("data", "add", str(tmp_path / "d.bin"), "--name", "customers")
    cli.ok("data", "add", str(tmp_path / "d.bin"), "--name", "public-stats")
    cli.ok("user", "add", "etl", "--role", "data_scientist", "--service-account")
    key = cli.ok(
        "key",
        "create",
        "--principal",
        "etl",
        "--scope",
        "data:read@dataset/public-*",
        "--scope",
        "data:list",
        "--json",
    ).json()
    cli.setenv("BASTION_API_KEY", key["token"])
    cli.ok("data", "get", "public-stats", "-o", str(tmp_path / "p.bin"))
    cli.fails(6, "access.scope_denied", "data", "get", "customers", "-o", str(tmp_path / "c.bin"))
    assert not (tmp_path / "c.bin").exists()
    cli.fails(6, "access.scope_denied", "data", "add", str(tmp_path / "d.bin"), "--name", "x")
    cli.fails(6, "access.denied", "keyring", "rotate")
    assert len(cli.ok("data", "list", "--json").json()) == 2


def test_pkcs11_provider_from_the_environment(
    cli: Cli, admin: Admin, tmp_path: Path, softhsm: Hsm
) -> None:
    cli.setenv("BASTION_KEY_PROVIDER", "pkcs11")
    cli.setenv("BASTION_PKCS11_MODULE", softhsm.module)
    cli.setenv("BASTION_PKCS11_TOKEN", softhsm.token)
    cli.setenv("BASTION_PKCS11_PIN", softhsm.pin)
    data = _file(tmp_path / "d.bin", 70_000, seed=3)
    added = cli.ok("data", "add", str(tmp_path / "d.bin"), "--name", "hsm", "--json").json()
    assert added["kek"] == "pkcs11/v1 (aes-256-gcm)"
    rotated = cli.ok("keyring", "rotate", "--json").json()
    assert (rotated["provider"], rotated["version"], rotated["rewrapped"]) == ("pkcs11", 2, 1)
    cli.ok("keyring", "retire", "1", "--destroy")
    cli.ok("data", "get", "hsm", "-o", str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == data
    # The PIN is a secret: never echoed, never in the audit log.
    everything = "".join(r.out + r.err for r in cli.history)
    everything += cli.ok("audit", "export", "--format", "jsonl").out
    assert softhsm.pin not in everything
    cli.setenv("BASTION_PKCS11_PIN", "0000wrong")
    cli.fails(8, "keyring.hsm_error", "data", "get", "hsm", "-o", str(tmp_path / "o2"))


def test_sweep_from_the_cli(cli: Cli, admin: Admin, tmp_path: Path) -> None:
    _file(tmp_path / "d.bin", 5000)
    cli.ok("data", "add", str(tmp_path / "d.bin"), "--name", "d")
    swept = cli.ok("data", "sweep", "--json").json()
    assert swept == {"partial_files": 0, "orphan_blobs": 0, "bytes": 0}
    assert len(_blob_files(cli)) == 1
    cli.fails(2, "vault.sweep_too_recent", "data", "sweep", "--older-than", "1m")
    cli.fails(2, "input.bad_duration", "data", "sweep", "--older-than", "soon")


def test_rekey_reseals_the_keyring_under_a_new_master_secret(
    cli: Cli, admin: Admin, tmp_path: Path
) -> None:
    data = _file(tmp_path / "d.bin", 20_000, seed=9)
    cli.ok("data", "add", str(tmp_path / "d.bin"), "--name", "d")
    keyring_file = cli.workspace / ".bastion" / "keyring.json"
    before = keyring_file.read_bytes()

    doc = cli.ok("keyring", "rekey", "--json").json()
    assert doc["kdf"] == "hkdf-sha256" and doc["master_key"] != admin.master_key
    assert keyring_file.read_bytes() != before
    # The old key opens nothing now, and changes nothing while failing.
    after = keyring_file.read_bytes()
    cli.fails(8, "keyring.wrong_master_key", "data", "list")
    assert keyring_file.read_bytes() == after
    cli.setenv("BASTION_MASTER_KEY", doc["master_key"])
    cli.ok("data", "get", "d", "-o", str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == data

    # To a passphrase; the same session (the pepper did not change) keeps working.
    cli.ok("keyring", "rekey", "--passphrase-stdin", stdin="a long new passphrase\n")
    cli.delenv("BASTION_MASTER_KEY")
    cli.setenv("BASTION_PASSPHRASE", "a long new passphrase")
    cli.ok("data", "get", "d", "-o", str(tmp_path / "out2.bin"))
    assert (tmp_path / "out2.bin").read_bytes() == data
    events = cli.ok("audit", "query", "--action", "keyring.rekey", "--json").json()
    assert [e["details"]["kdf"] for e in events] == ["hkdf-sha256", "argon2id"]
    exported = cli.ok("audit", "export", "--format", "jsonl").out
    assert doc["master_key"] not in exported and "a long new passphrase" not in exported


def test_verify_from_the_cli_exits_non_zero_on_damage(
    cli: Cli, admin: Admin, tmp_path: Path
) -> None:
    _file(tmp_path / "d.bin", 50_000)
    cli.ok("data", "add", str(tmp_path / "d.bin"), "--name", "d")
    assert cli.ok("data", "verify", "--json").json()[0]["error"] is None
    (blob,) = _blob_files(cli)
    raw = bytearray(blob.read_bytes())
    raw[100] ^= 4
    blob.write_bytes(bytes(raw))
    result = cli.fails(11, "vault.verify_failed", "data", "verify")
    assert "vault.tampered" in result.out
    cli.ok("model", "check")  # no models: nothing to check, nothing failed
