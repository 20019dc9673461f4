"""Wrapped data keys (BWK1): AES-256-GCM and hybrid X25519 + ML-KEM-768 round trips, the
associated-data binding, wrong keys, damaged bytes and malformed envelopes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.crypto.wrapping import (
    HybridKeyPair,
    WrapAlgorithm,
    header,
    split,
    unwrap_aes,
    unwrap_hybrid,
    wrap_aad,
    wrap_aes,
    wrap_hybrid,
)
from bastion.errors import EncryptedObjectError

KEK = bytes(range(32))
OTHER_KEK = bytes(range(32, 64))
DEK = bytes(range(200, 232))
AAD = wrap_aad("0123456789abcdef0123456789abcdef", "local", 1)
AES_LEN = 5 + 12 + 48
HYBRID_LEN = 5 + 32 + 1088 + 12 + 48
# Regions of a hybrid wrapped key: header, ephemeral X25519 key, ML-KEM ciphertext,
# nonce, AES-GCM sealed data key.
EPH = range(5, 37)
MLKEM_CT = range(37, 37 + 1088)
NONCE = range(1125, 1137)
SEALED = range(1137, HYBRID_LEN)


@pytest.fixture(scope="module")
def pair() -> HybridKeyPair:
    return HybridKeyPair.generate()


@pytest.fixture(scope="module")
def other_pair() -> HybridKeyPair:
    return HybridKeyPair.generate()


@pytest.fixture(scope="module")
def hybrid_wrapped(pair: HybridKeyPair) -> bytes:
    return wrap_hybrid(pair, DEK, AAD)


def _code(unwrap: Callable[..., object], *args: object) -> str:
    with pytest.raises(EncryptedObjectError) as caught:
        unwrap(*args)
    return caught.value.code


# -- labels, header, aad ---------------------------------------------------------------


def test_algorithm_ids_and_labels() -> None:
    assert [(int(a), a.label) for a in WrapAlgorithm] == [
        (1, "aes-256-gcm"),
        (2, "x25519-mlkem768"),
        (3, "pkcs11-aes-gcm"),
    ]
    for alg in WrapAlgorithm:
        assert WrapAlgorithm.from_label(alg.label) is alg
        assert header(alg) == b"BWK1" + bytes([int(alg)])
    assert _code(WrapAlgorithm.from_label, "rsa-oaep") == "vault.unknown_algorithm"


def test_wrap_aad_is_distinct_per_key_id_provider_and_version() -> None:
    variants = {
        wrap_aad("k1", "local", 1),
        wrap_aad("k2", "local", 1),
        wrap_aad("k1", "pkcs11", 1),
        wrap_aad("k1", "local", 2),
        wrap_aad("k1", "local", 11),
        wrap_aad("k11", "local", 1),
    }
    assert len(variants) == 6
    assert wrap_aad("k1", "local", 1) == wrap_aad("k1", "local", 1)


def test_split_returns_the_payload_and_checks_the_envelope() -> None:
    wrapped = wrap_aes(KEK, DEK, AAD)
    assert split(wrapped, WrapAlgorithm.AES_256_GCM) == wrapped[5:]
    assert _code(split, wrapped, WrapAlgorithm.X25519_MLKEM768) == "vault.wrong_key"
    assert _code(split, b"BWK1", WrapAlgorithm.AES_256_GCM) == "vault.corrupt"
    assert _code(split, b"XWK1" + wrapped[4:], WrapAlgorithm.AES_256_GCM) == "vault.corrupt"
    assert _code(split, b"BWK1\x07" + wrapped[5:], WrapAlgorithm.AES_256_GCM) == (
        "vault.unknown_algorithm"
    )


# -- aes-256-gcm -----------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    kek=st.binary(min_size=32, max_size=32),
    dek=st.binary(min_size=32, max_size=32),
    key_id=st.text(alphabet="0123456789abcdef", min_size=1, max_size=32),
    version=st.integers(1, 10_000),
)
def test_aes_round_trip(kek: bytes, dek: bytes, key_id: str, version: int) -> None:
    aad = wrap_aad(key_id, "local", version)
    wrapped = wrap_aes(kek, dek, aad)
    assert len(wrapped) == AES_LEN
    assert wrapped[:5] == b"BWK1\x01"
    assert dek not in wrapped
    assert unwrap_aes(kek, wrapped, aad) == dek


def test_aes_wraps_are_randomised() -> None:
    first, second = wrap_aes(KEK, DEK, AAD), wrap_aes(KEK, DEK, AAD)
    assert first != second and first[5:17] != second[5:17]
    assert unwrap_aes(KEK, first, AAD) == unwrap_aes(KEK, second, AAD) == DEK


@pytest.mark.parametrize(
    "aad",
    [
        wrap_aad("0123456789abcdef0123456789abcdee", "local", 1),
        wrap_aad("0123456789abcdef0123456789abcdef", "pkcs11", 1),
        wrap_aad("0123456789abcdef0123456789abcdef", "local", 2),
        b"",
    ],
    ids=["key-id", "provider", "version", "empty"],
)
def test_aes_aad_binding(aad: bytes) -> None:
    wrapped = wrap_aes(KEK, DEK, AAD)
    assert _code(unwrap_aes, KEK, wrapped, aad) == "vault.wrong_key"


def test_aes_wrong_kek() -> None:
    wrapped = wrap_aes(KEK, DEK, AAD)
    assert _code(unwrap_aes, OTHER_KEK, wrapped, AAD) == "vault.wrong_key"


def test_aes_every_flipped_byte_is_rejected() -> None:
    wrapped = wrap_aes(KEK, DEK, AAD)
    for offset in range(len(wrapped)):
        damaged = bytearray(wrapped)
        damaged[offset] ^= 0x01
        code = _code(unwrap_aes, KEK, bytes(damaged), AAD)
        if offset < 4:
            expected = "vault.corrupt"
        elif offset == 4:  # id 1 -> 0: not an algorithm at all
            expected = "vault.unknown_algorithm"
        else:
            expected = "vault.wrong_key"
        assert (offset, code) == (offset, expected)


def test_aes_wrong_lengths_are_corrupt() -> None:
    wrapped = wrap_aes(KEK, DEK, AAD)
    for bad in (wrapped[:-1], wrapped + b"\x00", wrapped[:5], wrapped[:17], wrapped[:4], b""):
        assert _code(unwrap_aes, KEK, bad, AAD) == "vault.corrupt"


@pytest.mark.parametrize("alg_id", [0, 4, 9, 255])
def test_unknown_algorithm_id(alg_id: int, pair: HybridKeyPair, hybrid_wrapped: bytes) -> None:
    aes = wrap_aes(KEK, DEK, AAD)
    assert _code(unwrap_aes, KEK, aes[:4] + bytes([alg_id]) + aes[5:], AAD) == (
        "vault.unknown_algorithm"
    )
    hybrid = hybrid_wrapped[:4] + bytes([alg_id]) + hybrid_wrapped[5:]
    assert _code(unwrap_hybrid, pair, hybrid, AAD) == "vault.unknown_algorithm"


@pytest.mark.parametrize("magic", [b"BWK2", b"bwk1", b"\x00\x00\x00\x00", b"BSTM"])
def test_bad_magic_is_corrupt(magic: bytes, pair: HybridKeyPair, hybrid_wrapped: bytes) -> None:
    aes = wrap_aes(KEK, DEK, AAD)
    assert _code(unwrap_aes, KEK, magic + aes[4:], AAD) == "vault.corrupt"
    assert _code(unwrap_hybrid, pair, magic + hybrid_wrapped[4:], AAD) == "vault.corrupt"


def test_wrapped_key_of_another_algorithm_is_wrong_key(
    pair: HybridKeyPair, hybrid_wrapped: bytes
) -> None:
    aes = wrap_aes(KEK, DEK, AAD)
    assert _code(unwrap_hybrid, pair, aes, AAD) == "vault.wrong_key"
    assert _code(unwrap_aes, KEK, hybrid_wrapped, AAD) == "vault.wrong_key"
    # The same payload relabelled as a token-wrapped key is refused as well.
    relabelled = header(WrapAlgorithm.PKCS11_AES_GCM) + aes[5:]
    assert _code(unwrap_aes, KEK, relabelled, AAD) == "vault.wrong_key"
    assert _code(unwrap_hybrid, pair, relabelled, AAD) == "vault.wrong_key"


# -- x25519-mlkem768 -------------------------------------------------------------------


def test_hybrid_round_trip_and_length(pair: HybridKeyPair, hybrid_wrapped: bytes) -> None:
    assert len(hybrid_wrapped) == HYBRID_LEN == 1185
    assert hybrid_wrapped[:5] == b"BWK1\x02"
    assert DEK not in hybrid_wrapped
    assert unwrap_hybrid(pair, hybrid_wrapped, AAD) == DEK
    again = wrap_hybrid(pair, DEK, AAD)
    # Fresh ephemeral key, encapsulation and nonce every time.
    assert again[EPH.start : EPH.stop] != hybrid_wrapped[EPH.start : EPH.stop]
    assert again[MLKEM_CT.start : MLKEM_CT.stop] != hybrid_wrapped[MLKEM_CT.start : MLKEM_CT.stop]
    assert again[NONCE.start : NONCE.stop] != hybrid_wrapped[NONCE.start : NONCE.stop]
    assert unwrap_hybrid(pair, again, AAD) == DEK


def test_hybrid_pair_rebuilt_from_private_parts(pair: HybridKeyPair, hybrid_wrapped: bytes) -> None:
    x_raw, seed = pair.private_parts()
    assert (len(x_raw), len(seed)) == (32, 64)
    rebuilt = HybridKeyPair.from_private(x_raw, seed)
    assert rebuilt.private_parts() == (x_raw, seed)
    assert unwrap_hybrid(rebuilt, hybrid_wrapped, AAD) == DEK
    # And the other way: wrapped to the rebuilt pair, opened by the original.
    assert unwrap_hybrid(pair, wrap_hybrid(rebuilt, DEK, AAD), AAD) == DEK
    x_pub, k_pub = pair.public()
    r_x_pub, r_k_pub = rebuilt.public()
    assert x_pub.public_bytes_raw() == r_x_pub.public_bytes_raw()
    assert k_pub.public_bytes_raw() == r_k_pub.public_bytes_raw()


def test_hybrid_other_pair_is_wrong_key(other_pair: HybridKeyPair, hybrid_wrapped: bytes) -> None:
    assert _code(unwrap_hybrid, other_pair, hybrid_wrapped, AAD) == "vault.wrong_key"


def test_hybrid_pairs_sharing_one_half_do_not_unwrap(
    pair: HybridKeyPair, other_pair: HybridKeyPair, hybrid_wrapped: bytes
) -> None:
    # Breaking either primitive alone is not enough: both halves must match.
    x_raw, seed = pair.private_parts()
    o_x_raw, o_seed = other_pair.private_parts()
    same_x = HybridKeyPair.from_private(x_raw, o_seed)
    same_k = HybridKeyPair.from_private(o_x_raw, seed)
    assert _code(unwrap_hybrid, same_x, hybrid_wrapped, AAD) == "vault.wrong_key"
    assert _code(unwrap_hybrid, same_k, hybrid_wrapped, AAD) == "vault.wrong_key"


@pytest.mark.parametrize(
    "aad",
    [
        wrap_aad("0123456789abcdef0123456789abcdee", "local", 1),
        wrap_aad("0123456789abcdef0123456789abcdef", "pkcs11", 1),
        wrap_aad("0123456789abcdef0123456789abcdef", "local", 2),
    ],
    ids=["key-id", "provider", "version"],
)
def test_hybrid_aad_binding(aad: bytes, pair: HybridKeyPair, hybrid_wrapped: bytes) -> None:
    assert _code(unwrap_hybrid, pair, hybrid_wrapped, aad) == "vault.wrong_key"


def _sample_positions() -> list[int]:
    positions = []
    for region in (EPH, MLKEM_CT, NONCE, SEALED):
        positions += [region.start, region.start + 1, (region.start + region.stop) // 2]
        positions += [region.stop - 2, region.stop - 1]
    return positions


@pytest.mark.parametrize("offset", _sample_positions())
def test_hybrid_flipped_byte_is_rejected(
    offset: int, pair: HybridKeyPair, hybrid_wrapped: bytes
) -> None:
    for mask in (0x01, 0x80):
        damaged = bytearray(hybrid_wrapped)
        damaged[offset] ^= mask
        assert _code(unwrap_hybrid, pair, bytes(damaged), AAD) == "vault.wrong_key"


@settings(max_examples=40, deadline=None)
@given(offset=st.integers(5, HYBRID_LEN - 1), bit=st.integers(0, 7))
def test_hybrid_any_flipped_payload_bit_is_rejected(
    offset: int, bit: int, pair: HybridKeyPair, hybrid_wrapped: bytes
) -> None:
    damaged = bytearray(hybrid_wrapped)
    damaged[offset] ^= 1 << bit
    assert _code(unwrap_hybrid, pair, bytes(damaged), AAD) == "vault.wrong_key"


def test_hybrid_header_bytes_are_checked(pair: HybridKeyPair, hybrid_wrapped: bytes) -> None:
    for offset in range(4):
        damaged = bytearray(hybrid_wrapped)
        damaged[offset] ^= 0x01
        assert _code(unwrap_hybrid, pair, bytes(damaged), AAD) == "vault.corrupt"
    for alg_id, expected in (
        (1, "vault.wrong_key"),
        (3, "vault.wrong_key"),
        (0, "vault.unknown_algorithm"),
        (6, "vault.unknown_algorithm"),
    ):
        relabelled = hybrid_wrapped[:4] + bytes([alg_id]) + hybrid_wrapped[5:]
        assert _code(unwrap_hybrid, pair, relabelled, AAD) == expected


def test_hybrid_parts_mixed_from_two_wraps_are_rejected(
    pair: HybridKeyPair, hybrid_wrapped: bytes
) -> None:
    other = wrap_hybrid(pair, DEK, AAD)
    for region in (EPH, MLKEM_CT, NONCE, SEALED):
        mixed = (
            hybrid_wrapped[: region.start]
            + other[region.start : region.stop]
            + hybrid_wrapped[region.stop :]
        )
        assert _code(unwrap_hybrid, pair, mixed, AAD) == "vault.wrong_key"


def test_hybrid_wrong_lengths_are_corrupt(pair: HybridKeyPair, hybrid_wrapped: bytes) -> None:
    for bad in (
        hybrid_wrapped[:-1],
        hybrid_wrapped + b"\x00",
        hybrid_wrapped[: NONCE.start],
        hybrid_wrapped[:5],
        hybrid_wrapped[:4],
        b"",
    ):
        assert _code(unwrap_hybrid, pair, bad, AAD) == "vault.corrupt"
