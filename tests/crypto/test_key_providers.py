"""Key providers: KEKs in the sealed keyring (local) and in a real SoftHSM2 token (pkcs11),
and the provider registry."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass
from pkcs11.exceptions import AttributeSensitive

from bastion.config import Secret, Settings
from bastion.crypto.keyring import Keyring, MasterSecret, decode_key, generate_master_key
from bastion.crypto.providers import KeyProvider, make_provider, provider_names
from bastion.crypto.providers.local import LocalKeyProvider
from bastion.crypto.providers.pkcs11 import Pkcs11KeyProvider
from bastion.crypto.wrapping import wrap_aad
from bastion.errors import EncryptedObjectError, InvalidInput, KeyringError
from tests.conftest import Hsm

DEK = bytes(range(100, 132))
KEY_ID = "00112233445566778899aabbccddeeff"


def _aad(provider: KeyProvider, version: int, key_id: str = KEY_ID) -> bytes:
    return wrap_aad(key_id, provider.name, version)


def _master() -> MasterSecret:
    return MasterSecret(master_key=Secret(generate_master_key()))


@pytest.fixture
def secret() -> MasterSecret:
    return _master()


@pytest.fixture
def ring_path(tmp_path: Path, secret: MasterSecret) -> Path:
    path = tmp_path / "keyring.json"
    Keyring.create(path, secret)
    return path


@pytest.fixture
def keyring(ring_path: Path, secret: MasterSecret) -> Keyring:
    return Keyring.open(ring_path, secret)


def _pkcs11(hsm: Hsm, namespace: str | None = None) -> Pkcs11KeyProvider:
    return Pkcs11KeyProvider(
        hsm.module, hsm.token, Secret(hsm.pin), namespace=namespace or secrets.token_hex(6)
    )


@pytest.fixture(params=["local", "pkcs11"])
def provider(request: pytest.FixtureRequest, keyring: Keyring) -> Iterator[KeyProvider]:
    made: KeyProvider
    if request.param == "local":
        made = LocalKeyProvider(keyring)
    else:
        made = _pkcs11(request.getfixturevalue("softhsm"))
    try:
        yield made
    finally:
        made.close()


def _wrong_key(provider: KeyProvider, version: int, wrapped: bytes, aad: bytes) -> None:
    with pytest.raises(EncryptedObjectError) as caught:
        provider.unwrap(version, wrapped, aad)
    assert caught.value.code == "vault.wrong_key"


def _missing(call: Callable[..., object], *args: object) -> None:
    with pytest.raises(KeyringError) as caught:
        call(*args)
    assert caught.value.code == "keyring.version_missing"


# -- every provider ----------------------------------------------------------------------


def test_aes_version_round_trip(provider: KeyProvider) -> None:
    assert "aes-256-gcm" in provider.algorithms
    provider.create_version(1, "aes-256-gcm")
    wrapped = provider.wrap(1, DEK, _aad(provider, 1))
    assert wrapped[:4] == b"BWK1"
    assert wrapped[4] == (1 if provider.name == "local" else 3)
    assert len(wrapped) == 5 + 12 + 48
    assert DEK not in wrapped
    assert provider.unwrap(1, wrapped, _aad(provider, 1)) == DEK
    again = provider.wrap(1, DEK, _aad(provider, 1))
    assert again != wrapped
    assert provider.unwrap(1, again, _aad(provider, 1)) == DEK


def test_unwrap_with_other_associated_data_is_wrong_key(provider: KeyProvider) -> None:
    provider.create_version(1, "aes-256-gcm")
    wrapped = provider.wrap(1, DEK, _aad(provider, 1))
    _wrong_key(provider, 1, wrapped, _aad(provider, 1, key_id="ff" * 16))
    _wrong_key(provider, 1, wrapped, wrap_aad(KEY_ID, "elsewhere", 1))
    _wrong_key(provider, 1, wrapped, _aad(provider, 2))
    _wrong_key(provider, 1, wrapped, b"")


def test_damaged_wrapped_key_is_wrong_key(provider: KeyProvider) -> None:
    provider.create_version(1, "aes-256-gcm")
    wrapped = provider.wrap(1, DEK, _aad(provider, 1))
    for offset in (5, 16, 17, len(wrapped) - 1):
        damaged = bytearray(wrapped)
        damaged[offset] ^= 0x01
        _wrong_key(provider, 1, bytes(damaged), _aad(provider, 1))


def test_unknown_algorithm_is_refused(provider: KeyProvider) -> None:
    for algorithm in ("rsa-2048", "AES-256-GCM", ""):
        with pytest.raises(InvalidInput) as caught:
            provider.create_version(1, algorithm)
        assert caught.value.code == "keyring.unknown_algorithm"
    _missing(provider.wrap, 1, DEK, _aad(provider, 1))


def test_destroyed_version_is_missing(provider: KeyProvider) -> None:
    provider.create_version(1, "aes-256-gcm")
    provider.create_version(2, "aes-256-gcm")
    wrapped = provider.wrap(1, DEK, _aad(provider, 1))
    kept = provider.wrap(2, DEK, _aad(provider, 2))
    provider.destroy_version(1)
    _missing(provider.unwrap, 1, wrapped, _aad(provider, 1))
    _missing(provider.wrap, 1, DEK, _aad(provider, 1))
    # Destroying again is harmless; other versions are untouched.
    provider.destroy_version(1)
    assert provider.unwrap(2, kept, _aad(provider, 2)) == DEK


def test_never_created_version_is_missing(provider: KeyProvider) -> None:
    provider.create_version(1, "aes-256-gcm")
    wrapped = provider.wrap(1, DEK, _aad(provider, 7))
    _missing(provider.unwrap, 7, wrapped, _aad(provider, 7))


def test_versions_are_independent(provider: KeyProvider) -> None:
    provider.create_version(1, "aes-256-gcm")
    provider.create_version(2, "aes-256-gcm")
    w1 = provider.wrap(1, DEK, _aad(provider, 1))
    w2 = provider.wrap(2, DEK, _aad(provider, 2))
    # Same associated data, other KEK: does not authenticate.
    _wrong_key(provider, 2, w1, _aad(provider, 1))
    _wrong_key(provider, 1, w2, _aad(provider, 2))
    assert provider.unwrap(1, w1, _aad(provider, 1)) == DEK
    assert provider.unwrap(2, w2, _aad(provider, 2)) == DEK


def test_create_version_again_replaces_the_key(provider: KeyProvider) -> None:
    provider.create_version(1, "aes-256-gcm")
    orphan = provider.wrap(1, DEK, _aad(provider, 1))
    provider.create_version(1, "aes-256-gcm")
    _wrong_key(provider, 1, orphan, _aad(provider, 1))
    fresh = provider.wrap(1, DEK, _aad(provider, 1))
    assert provider.unwrap(1, fresh, _aad(provider, 1)) == DEK


# -- local -------------------------------------------------------------------------------


def test_local_hybrid_version_round_trip(keyring: Keyring) -> None:
    provider = LocalKeyProvider(keyring)
    assert provider.name == "local"
    assert provider.algorithms == {"aes-256-gcm", "x25519-mlkem768"}
    provider.create_version(1, "aes-256-gcm")
    provider.create_version(2, "x25519-mlkem768")
    wrapped = provider.wrap(2, DEK, _aad(provider, 2))
    assert wrapped[:5] == b"BWK1\x02"
    assert len(wrapped) == 5 + 32 + 1088 + 12 + 48
    assert provider.unwrap(2, wrapped, _aad(provider, 2)) == DEK
    _wrong_key(provider, 2, wrapped, _aad(provider, 3))
    # A key wrapped by one version's algorithm is refused by the other's.
    _wrong_key(provider, 1, wrapped, _aad(provider, 2))
    _wrong_key(provider, 2, provider.wrap(1, DEK, _aad(provider, 1)), _aad(provider, 1))
    entry = keyring.vault_kek(2)
    assert entry is not None and entry["alg"] == "x25519-mlkem768"
    assert len(decode_key(entry["x25519"])) == 32 and len(decode_key(entry["mlkem768"])) == 64


def _forms(raw: bytes) -> list[bytes]:
    """Ways a key could leak into a text file."""
    return [
        raw,
        raw.hex().encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        base64.b64encode(raw).rstrip(b"="),
    ]


def test_local_keyring_file_never_holds_kek_material(keyring: Keyring, ring_path: Path) -> None:
    provider = LocalKeyProvider(keyring)
    provider.create_version(1, "aes-256-gcm")
    provider.create_version(2, "x25519-mlkem768")
    aes, hybrid = keyring.vault_kek(1), keyring.vault_kek(2)
    assert aes is not None and hybrid is not None
    stored = ring_path.read_bytes()
    for text in (aes["key"], hybrid["x25519"], hybrid["mlkem768"]):
        assert len(text) >= 43
        assert text.encode() not in stored
        for form in _forms(decode_key(text)):
            assert form not in stored


def test_local_second_keyring_instance_sees_versions_stored_by_the_first(
    ring_path: Path, secret: MasterSecret
) -> None:
    first, second = Keyring.open(ring_path, secret), Keyring.open(ring_path, secret)
    one, two = LocalKeyProvider(first), LocalKeyProvider(second)
    one.create_version(1, "aes-256-gcm")
    assert second.vault_kek(1) == first.vault_kek(1) is not None
    wrapped = one.wrap(1, DEK, _aad(one, 1))
    assert two.unwrap(1, wrapped, _aad(two, 1)) == DEK
    # Both write: neither loses the other's version.
    two.create_version(2, "x25519-mlkem768")
    one.create_version(3, "aes-256-gcm")
    fresh = Keyring.open(ring_path, secret)
    for version in (1, 2, 3):
        entry = fresh.vault_kek(version)
        assert entry is not None
        assert entry == first.vault_kek(version) == second.vault_kek(version)
    hybrid = two.wrap(2, DEK, _aad(two, 2))
    assert one.unwrap(2, hybrid, _aad(one, 2)) == DEK


def test_local_destroy_removes_the_kek_from_the_file(
    keyring: Keyring, ring_path: Path, secret: MasterSecret
) -> None:
    provider = LocalKeyProvider(keyring)
    provider.create_version(1, "aes-256-gcm")
    provider.create_version(2, "aes-256-gcm")
    kept = provider.wrap(2, DEK, _aad(provider, 2))
    provider.destroy_version(1)
    assert keyring.vault_kek(1) is None
    reopened = Keyring.open(ring_path, secret)
    assert reopened.vault_kek(1) is None
    assert reopened.vault_kek(2) == keyring.vault_kek(2) is not None
    assert LocalKeyProvider(reopened).unwrap(2, kept, _aad(provider, 2)) == DEK
    _missing(LocalKeyProvider(reopened).wrap, 1, DEK, _aad(provider, 1))


def test_local_keyring_opened_with_another_master_key_fails(ring_path: Path) -> None:
    with pytest.raises(KeyringError) as caught:
        Keyring.open(ring_path, _master())
    assert caught.value.code == "keyring.wrong_master_key"


# -- pkcs11 ------------------------------------------------------------------------------


def test_pkcs11_namespaces_on_one_token_are_separate(softhsm: Hsm) -> None:
    namespace = "ns-a-" + secrets.token_hex(4)
    first = _pkcs11(softhsm, namespace)
    try:
        first.create_version(1, "aes-256-gcm")
        wrapped = first.wrap(1, DEK, _aad(first, 1))
    finally:
        first.close()
    second = _pkcs11(softhsm, "ns-b-" + secrets.token_hex(4))
    try:
        assert second.label_for(1) != first.label_for(1)
        _missing(second.unwrap, 1, wrapped, _aad(second, 1))
        second.create_version(1, "aes-256-gcm")
        _wrong_key(second, 1, wrapped, _aad(second, 1))
        second.destroy_version(1)
    finally:
        second.close()
    # Namespace B creating and destroying its v1 left A's v1 alone.
    reopened = _pkcs11(softhsm, namespace)
    try:
        assert reopened.label_for(1) == first.label_for(1)
        assert reopened.unwrap(1, wrapped, _aad(reopened, 1)) == DEK
    finally:
        reopened.close()


def test_pkcs11_two_providers_open_at_once_in_one_process(softhsm: Hsm) -> None:
    # Two workspaces sharing one token (what the namespace is for), or a workspace that
    # opens the provider of older data keys next to its own, hold two sessions at once.
    first = _pkcs11(softhsm)
    try:
        second = _pkcs11(softhsm)
        try:
            first.create_version(1, "aes-256-gcm")
            second.create_version(1, "aes-256-gcm")
            w1 = first.wrap(1, DEK, _aad(first, 1))
            _wrong_key(second, 1, w1, _aad(second, 1))
            assert first.unwrap(1, w1, _aad(first, 1)) == DEK
        finally:
            second.close()
    finally:
        first.close()


def test_pkcs11_key_is_sensitive_and_not_extractable(softhsm: Hsm) -> None:
    provider = _pkcs11(softhsm)
    try:
        provider.create_version(1, "aes-256-gcm")
        label = provider.label_for(1)
    finally:
        provider.close()
    token = pkcs11.lib(softhsm.module).get_token(token_label=softhsm.token)
    session = token.open(user_pin=softhsm.pin)
    try:
        found = list(
            session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label})
        )
        assert len(found) == 1
        key = found[0]
        assert key[Attribute.EXTRACTABLE] is False
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.NEVER_EXTRACTABLE] is True
        assert key[Attribute.ALWAYS_SENSITIVE] is True
        assert key[Attribute.TOKEN] is True
        assert key[Attribute.VALUE_LEN] == 32
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]
    finally:
        session.close()


def test_pkcs11_wrong_pin_is_hsm_error(softhsm: Hsm) -> None:
    wrong = "0" * len(softhsm.pin)
    assert wrong != softhsm.pin
    with pytest.raises(KeyringError) as caught:
        Pkcs11KeyProvider(softhsm.module, softhsm.token, Secret(wrong), namespace="x")
    assert caught.value.code == "keyring.hsm_error"
    assert "PinIncorrect" in str(caught.value)
    assert softhsm.pin not in str(caught.value) and wrong not in str(caught.value)


def test_pkcs11_unknown_token_or_module_is_hsm_error(softhsm: Hsm, tmp_path: Path) -> None:
    for module, token in (
        (softhsm.module, "no-such-token"),
        (str(tmp_path / "missing-module.so"), softhsm.token),
    ):
        with pytest.raises(KeyringError) as caught:
            Pkcs11KeyProvider(module, token, Secret(softhsm.pin), namespace="x")
        assert caught.value.code == "keyring.hsm_error"


def test_pkcs11_cannot_make_hybrid_keys(softhsm: Hsm) -> None:
    provider = _pkcs11(softhsm)
    try:
        assert provider.name == "pkcs11" and provider.algorithms == {"aes-256-gcm"}
        with pytest.raises(InvalidInput) as caught:
            provider.create_version(1, "x25519-mlkem768")
        assert caught.value.code == "keyring.unknown_algorithm"
    finally:
        provider.close()


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(workspace=tmp_path, state_dir=tmp_path / "state").with_overrides(**changes)


@pytest.mark.parametrize("missing", ["pkcs11_module", "pkcs11_token", "pkcs11_pin"])
def test_pkcs11_settings_missing_a_part_are_unconfigured(
    missing: str, softhsm: Hsm, tmp_path: Path, keyring: Keyring
) -> None:
    parts: dict[str, object] = {
        "pkcs11_module": softhsm.module,
        "pkcs11_token": softhsm.token,
        "pkcs11_pin": Secret(softhsm.pin),
    }
    parts[missing] = None
    settings = _settings(tmp_path, key_provider="pkcs11", **parts)
    with pytest.raises(InvalidInput) as caught:
        Pkcs11KeyProvider.from_settings(settings, keyring)
    assert caught.value.code == "keyring.pkcs11_unconfigured"
    with pytest.raises(InvalidInput) as through_registry:
        make_provider(settings, keyring)
    assert through_registry.value.code == "keyring.pkcs11_unconfigured"


def test_pkcs11_from_settings_uses_the_workspace_id(
    softhsm: Hsm, tmp_path: Path, keyring: Keyring
) -> None:
    settings = _settings(
        tmp_path,
        key_provider="pkcs11",
        pkcs11_module=softhsm.module,
        pkcs11_token=softhsm.token,
        pkcs11_pin=Secret(softhsm.pin),
    )
    provider = make_provider(settings, keyring)
    try:
        assert isinstance(provider, Pkcs11KeyProvider)
        workspace = keyring.workspace_id()
        assert len(workspace) == 16
        assert provider.label_for(3) == f"bastion-kek-{workspace}-v3"
        provider.create_version(1, "aes-256-gcm")
        wrapped = provider.wrap(1, DEK, _aad(provider, 1))
        assert provider.unwrap(1, wrapped, _aad(provider, 1)) == DEK
        provider.destroy_version(1)
    finally:
        provider.close()


# -- registry ----------------------------------------------------------------------------


def test_registry_names_and_local_provider(tmp_path: Path, keyring: Keyring) -> None:
    names = provider_names()
    assert {"local", "pkcs11"} <= set(names)
    assert names == sorted(names)
    provider = make_provider(_settings(tmp_path), keyring)
    assert isinstance(provider, LocalKeyProvider)
    provider.create_version(1, "aes-256-gcm")
    assert provider.unwrap(1, provider.wrap(1, DEK, _aad(provider, 1)), _aad(provider, 1)) == DEK


def test_registry_unknown_provider(tmp_path: Path, keyring: Keyring) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_provider(_settings(tmp_path, key_provider="nope"), keyring)
    assert caught.value.code == "keyring.unknown_provider"
    assert "local" in caught.value.hint and "pkcs11" in caught.value.hint
