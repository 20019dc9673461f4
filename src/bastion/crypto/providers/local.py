"""The default key provider: KEKs sealed in the workspace keyring under the master secret."""

from __future__ import annotations

import secrets

from bastion.crypto import wrapping
from bastion.crypto.keyring import Keyring, decode_key, encode_key
from bastion.crypto.wrapping import HybridKeyPair, WrapAlgorithm
from bastion.errors import InvalidInput, KeyringError


class LocalKeyProvider:
    """AES-256 or hybrid X25519 + ML-KEM-768 KEKs in ``keyring.json``."""

    name = "local"
    algorithms = frozenset({"aes-256-gcm", "x25519-mlkem768"})

    def __init__(self, keyring: Keyring):
        self._keyring = keyring

    def create_version(self, version: int, algorithm: str) -> None:
        """Generate and seal KEK ``version``."""
        if algorithm == "aes-256-gcm":
            entry = {"alg": algorithm, "key": encode_key(secrets.token_bytes(32))}
        elif algorithm == "x25519-mlkem768":
            x_raw, seed = HybridKeyPair.generate().private_parts()
            entry = {"alg": algorithm, "x25519": encode_key(x_raw), "mlkem768": encode_key(seed)}
        else:
            raise InvalidInput(
                f"the local provider cannot make {algorithm!r} keys",
                code="keyring.unknown_algorithm",
                hint="Use aes-256-gcm or x25519-mlkem768.",
            )
        self._keyring.store_vault_kek(version, entry)

    def _entry(self, version: int) -> dict[str, str]:
        entry = self._keyring.vault_kek(version)
        if entry is None:
            raise KeyringError(
                f"KEK version {version} is not in the keyring", code="keyring.version_missing"
            )
        return entry

    def wrap(self, version: int, dek: bytes, aad: bytes) -> bytes:
        """Wrap with the version's algorithm."""
        entry = self._entry(version)
        if entry["alg"] == "x25519-mlkem768":
            pair = HybridKeyPair.from_private(
                decode_key(entry["x25519"]), decode_key(entry["mlkem768"])
            )
            return wrapping.wrap_hybrid(pair, dek, aad)
        return wrapping.wrap_aes(decode_key(entry["key"]), dek, aad)

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        """Unwrap with the version's algorithm."""
        entry = self._entry(version)
        alg = WrapAlgorithm.from_label(entry["alg"])
        if alg is WrapAlgorithm.X25519_MLKEM768:
            pair = HybridKeyPair.from_private(
                decode_key(entry["x25519"]), decode_key(entry["mlkem768"])
            )
            return wrapping.unwrap_hybrid(pair, wrapped, aad)
        return wrapping.unwrap_aes(decode_key(entry["key"]), wrapped, aad)

    def destroy_version(self, version: int) -> None:
        """Remove the version from the sealed keyring file."""
        self._keyring.destroy_vault_kek(version)

    def close(self) -> None:
        """Nothing to release."""
