"""Wrapping data keys under key-encryption keys (KEKs): the envelope's outer layer.

A wrapped data key is ``b"BWK1"`` || algorithm id (1 byte) || algorithm payload:

=====  ====================  =====================================================
 id    algorithm             payload
=====  ====================  =====================================================
 1     ``aes-256-gcm``       nonce (12) || AES-256-GCM(KEK, data key) (48)
 2     ``x25519-mlkem768``   X25519 ephemeral public key (32) || ML-KEM-768
                             ciphertext (1088) || nonce (12) || AES-256-GCM (48)
 3     ``pkcs11-aes-gcm``    nonce (12) || AES-GCM inside the token (48)
=====  ====================  =====================================================

The hybrid (id 2) derives its wrapping key with HKDF-SHA256 over both shared secrets,
bound to both ciphertexts and the recipient's public keys, so the data key stays secret
while either X25519 or ML-KEM-768 (FIPS 203) holds: data written today survives a
quantum adversary recording it now. Both primitives come from ``cryptography``.

The associated data (:func:`wrap_aad`) ties a wrapped key to its data-key id, provider
and KEK version, so a wrapped key copied onto another row does not unwrap.
"""

from __future__ import annotations

import enum
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bastion.errors import EncryptedObjectError

MAGIC = b"BWK1"
NONCE_LEN = 12
DEK_LEN = 32
_SEALED_LEN = DEK_LEN + 16
_X25519_LEN = 32
_MLKEM768_CT_LEN = 1088


class WrapAlgorithm(enum.IntEnum):
    """Identifiers of key-wrapping algorithms as stored in a wrapped key."""

    AES_256_GCM = 1
    X25519_MLKEM768 = 2
    PKCS11_AES_GCM = 3

    @property
    def label(self) -> str:
        """Name used in the database, the CLI and configuration."""
        return _LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> WrapAlgorithm:
        """Parse a label; unknown labels raise ``vault.unknown_algorithm``."""
        for alg, name in _LABELS.items():
            if name == label:
                return alg
        raise EncryptedObjectError(
            f"unknown key-wrapping algorithm {label!r}", code="vault.unknown_algorithm"
        )


_LABELS = {
    WrapAlgorithm.AES_256_GCM: "aes-256-gcm",
    WrapAlgorithm.X25519_MLKEM768: "x25519-mlkem768",
    WrapAlgorithm.PKCS11_AES_GCM: "pkcs11-aes-gcm",
}


def wrap_aad(key_id: str, provider: str, version: int) -> bytes:
    """Associated data binding a wrapped key to its row, provider and KEK version."""
    return f"bastion-dek/v1\x00{key_id}\x00{provider}\x00{version}".encode()


def _unwrap_failed(reason: str) -> EncryptedObjectError:
    return EncryptedObjectError(
        f"the data key does not unwrap: {reason}",
        code="vault.wrong_key",
        hint="The wrapped key or the key-encryption key does not match; check the keyring.",
    )


def split(wrapped: bytes, expected: WrapAlgorithm) -> bytes:
    """Check the magic and algorithm of a wrapped key and return its payload."""
    if len(wrapped) < 5 or wrapped[:4] != MAGIC:
        raise EncryptedObjectError("wrapped data key is malformed", code="vault.corrupt")
    try:
        alg = WrapAlgorithm(wrapped[4])
    except ValueError:
        raise EncryptedObjectError(
            f"unknown key-wrapping algorithm id {wrapped[4]}", code="vault.unknown_algorithm"
        ) from None
    if alg is not expected:
        raise _unwrap_failed(f"it is wrapped with {alg.label}, the KEK is {expected.label}")
    return wrapped[5:]


def header(alg: WrapAlgorithm) -> bytes:
    """The 5-byte prefix of a wrapped key."""
    return MAGIC + bytes([alg])


# -- aes-256-gcm: a symmetric KEK held in the sealed keyring --------------------------


def _check_dek(dek: bytes) -> None:
    if len(dek) != DEK_LEN:
        raise ValueError("data keys are 32 bytes")


def wrap_aes(kek: bytes, dek: bytes, aad: bytes) -> bytes:
    """Wrap ``dek`` under a 256-bit symmetric KEK."""
    _check_dek(dek)
    nonce = secrets.token_bytes(NONCE_LEN)
    prefix = header(WrapAlgorithm.AES_256_GCM)
    return prefix + nonce + AESGCM(kek).encrypt(nonce, dek, prefix + aad)


def unwrap_aes(kek: bytes, wrapped: bytes, aad: bytes) -> bytes:
    """Inverse of :func:`wrap_aes`."""
    payload = split(wrapped, WrapAlgorithm.AES_256_GCM)
    if len(payload) != NONCE_LEN + _SEALED_LEN:
        raise EncryptedObjectError("wrapped data key has the wrong length", code="vault.corrupt")
    try:
        return AESGCM(kek).decrypt(
            payload[:NONCE_LEN], payload[NONCE_LEN:], header(WrapAlgorithm.AES_256_GCM) + aad
        )
    except InvalidTag:
        raise _unwrap_failed("authentication failed") from None


# -- x25519-mlkem768: hybrid post-quantum KEM --------------------------------------------


class HybridKeyPair:
    """An X25519 + ML-KEM-768 key pair; the private halves stay in the keyring."""

    def __init__(self, x25519: X25519PrivateKey, mlkem: MLKEM768PrivateKey):
        self._x25519 = x25519
        self._mlkem = mlkem

    @classmethod
    def generate(cls) -> HybridKeyPair:
        """Fresh key pair from the operating system's CSPRNG."""
        return cls(X25519PrivateKey.generate(), MLKEM768PrivateKey.generate())

    @classmethod
    def from_private(cls, x25519_raw: bytes, mlkem_seed: bytes) -> HybridKeyPair:
        """Rebuild from the 32-byte X25519 key and the 64-byte ML-KEM seed."""
        return cls(
            X25519PrivateKey.from_private_bytes(x25519_raw),
            MLKEM768PrivateKey.from_seed_bytes(mlkem_seed),
        )

    def private_parts(self) -> tuple[bytes, bytes]:
        """(X25519 raw private key, ML-KEM-768 seed) for sealing into the keyring."""
        return self._x25519.private_bytes_raw(), self._mlkem.private_bytes_raw()

    def public(self) -> tuple[X25519PublicKey, MLKEM768PublicKey]:
        """The public halves: enough to wrap, not to unwrap."""
        return self._x25519.public_key(), self._mlkem.public_key()

    def decapsulate(self, eph_public: bytes, mlkem_ct: bytes) -> tuple[bytes, bytes]:
        """Both shared secrets for a received encapsulation."""
        try:
            ss_x = self._x25519.exchange(X25519PublicKey.from_public_bytes(eph_public))
            ss_k = self._mlkem.decapsulate(mlkem_ct)
        except ValueError:
            raise _unwrap_failed("invalid key encapsulation") from None
        return ss_x, ss_k


def _hybrid_kek(
    ss_x: bytes, ss_k: bytes, eph: bytes, mlkem_ct: bytes, x_pub: bytes, k_pub: bytes
) -> bytes:
    # Both secrets feed one KDF; the transcript (ciphertexts and recipient keys) is the
    # info, as in the X-Wing and TLS hybrid designs, so nothing can be mixed and matched.
    info = b"bastion hybrid wrap v1" + eph + mlkem_ct + x_pub + k_pub
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ss_k + ss_x)


def wrap_hybrid(pair: HybridKeyPair, dek: bytes, aad: bytes) -> bytes:
    """Wrap ``dek`` to the hybrid public key (X25519 + ML-KEM-768)."""
    _check_dek(dek)
    x_pub, k_pub = pair.public()
    eph = X25519PrivateKey.generate()
    eph_raw = eph.public_key().public_bytes_raw()
    ss_x = eph.exchange(x_pub)
    ss_k, mlkem_ct = k_pub.encapsulate()
    kek = _hybrid_kek(
        ss_x, ss_k, eph_raw, mlkem_ct, x_pub.public_bytes_raw(), k_pub.public_bytes_raw()
    )
    nonce = secrets.token_bytes(NONCE_LEN)
    prefix = header(WrapAlgorithm.X25519_MLKEM768)
    return prefix + eph_raw + mlkem_ct + nonce + AESGCM(kek).encrypt(nonce, dek, prefix + aad)


def unwrap_hybrid(pair: HybridKeyPair, wrapped: bytes, aad: bytes) -> bytes:
    """Inverse of :func:`wrap_hybrid`."""
    payload = split(wrapped, WrapAlgorithm.X25519_MLKEM768)
    if len(payload) != _X25519_LEN + _MLKEM768_CT_LEN + NONCE_LEN + _SEALED_LEN:
        raise EncryptedObjectError("wrapped data key has the wrong length", code="vault.corrupt")
    eph = payload[:_X25519_LEN]
    mlkem_ct = payload[_X25519_LEN : _X25519_LEN + _MLKEM768_CT_LEN]
    rest = payload[_X25519_LEN + _MLKEM768_CT_LEN :]
    ss_x, ss_k = pair.decapsulate(eph, mlkem_ct)
    x_pub, k_pub = pair.public()
    kek = _hybrid_kek(ss_x, ss_k, eph, mlkem_ct, x_pub.public_bytes_raw(), k_pub.public_bytes_raw())
    try:
        return AESGCM(kek).decrypt(
            rest[:NONCE_LEN], rest[NONCE_LEN:], header(WrapAlgorithm.X25519_MLKEM768) + aad
        )
    except InvalidTag:
        raise _unwrap_failed("authentication failed") from None
