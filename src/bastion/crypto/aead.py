"""Small-object authenticated encryption with a versioned header.

Layout: ``b"BSE1"`` (magic + format version 1, meaning AES-256-GCM with a random
96-bit nonce) || nonce (12 bytes) || ciphertext with 16-byte tag. The associated data
binds a blob to its purpose, so a sealed TOTP secret cannot be replayed as something else.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.errors import BastionError

MAGIC_V1 = b"BSE1"
NONCE_LEN = 12
KEY_LEN = 32


class DecryptionFailed(BastionError):
    """Opaque: wrong key, tampered bytes, truncation or unknown version look the same."""

    code = "crypto.decrypt_failed"
    exit_code = 8


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext`` under a 256-bit ``key``."""
    if len(key) != KEY_LEN:
        raise ValueError("seal() needs a 32-byte key")
    nonce = secrets.token_bytes(NONCE_LEN)
    return MAGIC_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, MAGIC_V1 + aad)


def open_(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a blob made by :func:`seal`; raise :class:`DecryptionFailed` otherwise."""
    if len(key) != KEY_LEN or len(blob) < len(MAGIC_V1) + NONCE_LEN + 16:
        raise DecryptionFailed("decryption failed")
    if blob[: len(MAGIC_V1)] != MAGIC_V1:
        raise DecryptionFailed("decryption failed")
    nonce = blob[len(MAGIC_V1) : len(MAGIC_V1) + NONCE_LEN]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(MAGIC_V1) + NONCE_LEN :], MAGIC_V1 + aad)
    except InvalidTag as exc:
        raise DecryptionFailed("decryption failed") from exc
