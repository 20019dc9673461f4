"""The sealed keyring and the small AEAD recipe: round trips, wrong keys, tampering."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.config import Secret
from bastion.crypto.aead import DecryptionFailed, open_, seal
from bastion.crypto.keyring import Keyring, MasterSecret, generate_master_key
from bastion.errors import InvalidInput, KeyringError, WrongMasterKey

KEY = bytes(range(32))


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=2048), aad=st.binary(max_size=64), flip=st.integers(min_value=0))
def test_seal_round_trips_and_any_flipped_bit_is_refused(
    data: bytes, aad: bytes, flip: int
) -> None:
    blob = seal(KEY, data, aad)
    assert open_(KEY, blob, aad) == data
    position = flip % (len(blob) * 8)
    tampered = bytearray(blob)
    tampered[position // 8] ^= 1 << (position % 8)
    with pytest.raises(DecryptionFailed):
        open_(KEY, bytes(tampered), aad)
    with pytest.raises(DecryptionFailed):
        open_(KEY, blob[:-1], aad)
    with pytest.raises(DecryptionFailed):
        open_(KEY, blob, aad + b"x")


def test_wrong_key_and_unknown_version_are_opaque() -> None:
    blob = seal(KEY, b"secret", b"purpose")
    with pytest.raises(DecryptionFailed) as wrong:
        open_(bytes(32), blob, b"purpose")
    with pytest.raises(DecryptionFailed) as version:
        open_(KEY, b"BSE2" + blob[4:], b"purpose")
    assert str(wrong.value) == str(version.value) == "decryption failed"


def _master() -> MasterSecret:
    return MasterSecret(master_key=Secret(generate_master_key()))


def test_keyring_round_trip_and_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    secret = _master()
    ring = Keyring.create(path, secret)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = ring.seal_secret(b"totp-seed", "totp:alice")
    again = Keyring.open(path, secret)
    assert again.open_secret(sealed, "totp:alice") == b"totp-seed"
    assert again.signing_key()[0] == ring.signing_key()[0]
    assert again.keyed_hash(b"x") == ring.keyed_hash(b"x")
    with pytest.raises(DecryptionFailed):
        again.open_secret(sealed, "totp:bob")
    # No key material is stored in the clear.
    text = path.read_text()
    assert "private" not in text and json.loads(text)["kdf"]["alg"] == "hkdf-sha256"


def test_wrong_master_key_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path, _master())
    before = path.read_bytes()
    with pytest.raises(WrongMasterKey) as caught:
        Keyring.open(path, _master())
    assert caught.value.code == "keyring.wrong_master_key"
    assert path.read_bytes() == before


def test_passphrase_keyring_uses_argon2id(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path, MasterSecret(passphrase=Secret("correct horse battery staple")))
    kdf = json.loads(path.read_text())["kdf"]
    assert kdf["alg"] == "argon2id" and kdf["memory_kib"] >= 65536
    Keyring.open(path, MasterSecret(passphrase=Secret("correct horse battery staple")))
    with pytest.raises(WrongMasterKey):
        Keyring.open(path, MasterSecret(passphrase=Secret("wrong")))
    with pytest.raises(WrongMasterKey):
        Keyring.open(path, _master())


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (
            lambda d: d.update(kdf={**d["kdf"], "salt": d["kdf"]["salt"][::-1]}),
            "keyring.wrong_master_key",
        ),
        (lambda d: d.update(kdf={**d["kdf"], "alg": "rot13"}), "keyring.unknown_algorithm"),
        (lambda d: d.update(kdf="nonsense"), "keyring.corrupt"),
        (lambda d: d.update(sealed="!!!"), "keyring.corrupt"),
        (lambda d: d.update(version=99), "keyring.unknown_algorithm"),
        (lambda d: d.pop("kdf"), "keyring.corrupt"),
    ],
)
def test_edited_keyring_files_give_clear_errors(tmp_path: Path, edit: object, code: str) -> None:
    path = tmp_path / "keyring.json"
    secret = _master()
    Keyring.create(path, secret)
    document = json.loads(path.read_text())
    edit(document)  # type: ignore[operator]
    path.write_text(json.dumps(document))
    with pytest.raises(KeyringError) as caught:
        Keyring.open(path, secret)
    assert caught.value.code == code


def test_oversized_argon2_parameters_are_refused_before_use(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    secret = MasterSecret(passphrase=Secret("pw"))
    Keyring.create(path, secret)
    document = json.loads(path.read_text())
    document["kdf"]["memory_kib"] = 2**40
    path.write_text(json.dumps(document))
    with pytest.raises(KeyringError) as caught:
        Keyring.open(path, secret)
    assert caught.value.code == "keyring.corrupt"


def test_garbage_file_and_bad_master_key_format(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_bytes(b"\xff\xfe not json")
    with pytest.raises(KeyringError) as caught:
        Keyring.open(path, _master())
    assert caught.value.code == "keyring.corrupt"
    Keyring.create(tmp_path / "k2.json", _master())
    with pytest.raises(InvalidInput) as bad:
        Keyring.open(tmp_path / "k2.json", MasterSecret(master_key=Secret("too-short")))
    assert bad.value.code == "keyring.bad_master_key"
    with pytest.raises(InvalidInput):
        MasterSecret()
