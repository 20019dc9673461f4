"""The streaming encrypted-object format (BSTM v1): round trips, layout, and every way of
damaging an object (flipped bits, truncation, appended, swapped, repeated or spliced
chunks, header edits, wrong keys) refused with its specific code and without releasing a
single unauthenticated byte."""

from __future__ import annotations

import hashlib
import io
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.crypto.stream import (
    HEADER_LEN,
    TAG_LEN,
    Cipher,
    decrypt_bytes,
    decrypt_stream,
    encrypt_bytes,
    encrypt_stream,
    parse_header,
)
from bastion.errors import EncryptedObjectError, InvalidInput

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
KEY_ID = bytes(range(100, 116))
CHUNK = 4096
SEALED = CHUNK + TAG_LEN
CIPHERS = [Cipher.AES_256_GCM, Cipher.CHACHA20_POLY1305]
BOUNDARY_SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK - 1, 5 * CHUNK]


def _data(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _seal(data: bytes, cipher: Cipher = Cipher.AES_256_GCM) -> bytes:
    return encrypt_bytes(KEY, KEY_ID, data, cipher=cipher, chunk_size=CHUNK)


def _expected_len(size: int, chunk: int = CHUNK) -> int:
    return HEADER_LEN + size + TAG_LEN * max(1, -(-size // chunk))


def _chunk_span(index: int, size: int) -> tuple[int, int]:
    """Byte range of sealed chunk ``index`` inside a blob of ``size`` plaintext bytes."""
    start = HEADER_LEN + index * SEALED
    return start, min(start + SEALED, _expected_len(size))


class Trickle(io.RawIOBase):
    """A non-seekable reader (like a pipe or socket) handing out ``step`` bytes per call."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(self._step, len(buffer), len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def _failure(
    blob: bytes, *, streaming: bool = False, key: bytes = KEY, key_id: bytes = KEY_ID
) -> tuple[str, bytes]:
    """Decrypt a damaged blob; return the error code and what reached the destination.

    ``streaming`` reads from a non-seekable reader without announcing the size.
    """
    dst = io.BytesIO()
    with pytest.raises(EncryptedObjectError) as caught:
        if streaming:
            decrypt_stream(key, key_id, Trickle(blob, 1000), dst)
        else:
            decrypt_stream(key, key_id, io.BytesIO(blob), dst, available=len(blob))
    return caught.value.code, dst.getvalue()


# -- round trips and layout ------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    size=st.one_of(st.integers(0, 5 * CHUNK + 100), st.sampled_from(BOUNDARY_SIZES)),
    seed=st.integers(0, 2**32),
    cipher=st.sampled_from(CIPHERS),
)
def test_round_trip_from_empty_to_several_chunks(size: int, seed: int, cipher: Cipher) -> None:
    data = _data(size, seed)
    out = io.BytesIO()
    result = encrypt_stream(
        KEY, KEY_ID, io.BytesIO(data), out, size, cipher=cipher, chunk_size=CHUNK
    )
    blob = out.getvalue()
    assert len(blob) == result.ciphertext_length == _expected_len(size)
    assert result.plaintext_length == size
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert decrypt_bytes(KEY, KEY_ID, blob) == data
    # Pure streaming: a non-seekable reader, no size announced.
    plain = io.BytesIO()
    back = decrypt_stream(KEY, KEY_ID, Trickle(blob, 1000), plain)
    assert plain.getvalue() == data
    assert back.sha256 == result.sha256
    assert (back.plaintext_length, back.ciphertext_length) == (size, len(blob))


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_layout_at_chunk_boundaries(size: int, cipher: Cipher) -> None:
    data = _data(size, size)
    blob = _seal(data, cipher)
    chunks = max(1, -(-size // CHUNK))
    assert len(blob) == HEADER_LEN + size + TAG_LEN * chunks
    header = parse_header(blob[:HEADER_LEN])
    assert header.cipher is cipher
    assert header.chunk_size == CHUNK
    assert header.plaintext_length == size
    assert header.key_id == KEY_ID
    assert header.nonce_prefix == blob[8:15] and len(header.nonce_prefix) == 7
    assert header.chunk_count == chunks
    assert header.ciphertext_length == len(blob)
    assert blob[:4] == b"BSTM" and blob[4] == 1 and blob[5] == int(cipher) and blob[6] == 12
    assert blob[7] == 0 and blob[15] == 0
    assert int.from_bytes(blob[16:24], "big") == size
    assert blob[24:40] == KEY_ID
    assert decrypt_bytes(KEY, KEY_ID, blob) == data


def test_default_chunk_size_is_one_mebibyte() -> None:
    blob = encrypt_bytes(KEY, KEY_ID, b"x" * 10)
    header = parse_header(blob)
    assert header.chunk_size == 1 << 20 and header.cipher is Cipher.AES_256_GCM
    assert len(blob) == HEADER_LEN + 10 + TAG_LEN
    assert decrypt_bytes(KEY, KEY_ID, blob) == b"x" * 10


def test_sha256_of_encrypt_and_decrypt_match_hashlib() -> None:
    data = _data(3 * CHUNK + 7, 3)
    out = io.BytesIO()
    enc = encrypt_stream(KEY, KEY_ID, io.BytesIO(data), out, len(data), chunk_size=CHUNK)
    dec = decrypt_stream(KEY, KEY_ID, io.BytesIO(out.getvalue()), io.BytesIO())
    assert enc.sha256 == dec.sha256 == hashlib.sha256(data).hexdigest()
    empty = io.BytesIO()
    assert encrypt_stream(KEY, KEY_ID, io.BytesIO(b""), empty, 0).sha256 == (
        hashlib.sha256(b"").hexdigest()
    )
    unhashed = encrypt_stream(
        KEY, KEY_ID, io.BytesIO(data), io.BytesIO(), len(data), hash_plaintext=False
    )
    assert unhashed.sha256 == ""


def test_two_encryptions_of_the_same_data_differ() -> None:
    data = _data(2 * CHUNK, 5)
    first, second = _seal(data), _seal(data)
    assert parse_header(first).nonce_prefix != parse_header(second).nonce_prefix
    assert first != second
    assert first[HEADER_LEN:] != second[HEADER_LEN:]
    assert decrypt_bytes(KEY, KEY_ID, first) == decrypt_bytes(KEY, KEY_ID, second) == data


def test_cipher_labels() -> None:
    assert Cipher.AES_256_GCM == 1 and Cipher.CHACHA20_POLY1305 == 2
    assert Cipher.AES_256_GCM.label == "aes-256-gcm"
    assert Cipher.CHACHA20_POLY1305.label == "chacha20-poly1305"
    for cipher in Cipher:
        assert Cipher.from_label(cipher.label) is cipher
    with pytest.raises(InvalidInput) as caught:
        Cipher.from_label("aes-128-cbc")
    assert caught.value.code == "vault.unknown_algorithm"


# -- flipped bits ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 4 * CHUNK),
    seed=st.integers(0, 2**32),
    cipher=st.sampled_from(CIPHERS),
    where=st.integers(min_value=0),
    streaming=st.booleans(),
)
def test_any_flipped_bit_is_rejected(
    size: int, seed: int, cipher: Cipher, where: int, streaming: bool
) -> None:
    data = _data(size, seed)
    blob = bytearray(_seal(data, cipher))
    position = where % (len(blob) * 8)
    offset = position // 8
    blob[offset] ^= 1 << (position % 8)
    code, released = _failure(bytes(blob), streaming=streaming)
    if offset >= HEADER_LEN:
        # Chunk k failed: only the k chunks before it, each verified, were written.
        k = (offset - HEADER_LEN) // SEALED
        assert code == "vault.tampered"
        assert released == data[: k * CHUNK]
    else:
        assert code in {
            "vault.tampered",
            "vault.corrupt",
            "vault.wrong_key",
            "vault.unknown_algorithm",
        }
        assert released == b""


def _header_flip_code(blob: bytes, offset: int, bit: int) -> str:
    """What a one-bit edit of header byte ``offset`` must be reported as."""
    value = blob[offset] ^ (1 << bit)
    if offset < 4 or offset in (7, 15):  # magic, reserved bytes
        return "vault.corrupt"
    if offset == 4:  # format version
        return "vault.unknown_algorithm"
    if offset == 5:  # cipher id: another known cipher is caught by the header MAC
        return "vault.tampered" if value in (1, 2) else "vault.unknown_algorithm"
    if offset == 6:  # chunk log2: outside [12, 26] is not a supported chunk size
        return "vault.tampered" if 12 <= value <= 26 else "vault.unknown_algorithm"
    if 16 <= offset < 24:  # plaintext length: more than 2**32 chunks is malformed
        length = int.from_bytes(blob[16:24], "big") ^ (1 << (8 * (23 - offset) + bit))
        return "vault.corrupt" if -(-length // (1 << blob[6])) > 2**32 else "vault.tampered"
    if 24 <= offset < 56:  # key id, key check
        return "vault.wrong_key"
    return "vault.tampered"  # nonce prefix, header MAC


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("size", [0, 2 * CHUNK + 10])
def test_every_header_bit_flip_is_rejected_with_its_code(size: int, cipher: Cipher) -> None:
    blob = _seal(_data(size, 9), cipher)
    seen = set()
    for offset in range(HEADER_LEN):
        for bit in range(8):
            damaged = bytearray(blob)
            damaged[offset] ^= 1 << bit
            code, released = _failure(bytes(damaged))
            assert (offset, bit, code) == (offset, bit, _header_flip_code(blob, offset, bit))
            assert released == b""
            seen.add(code)
    assert seen == {
        "vault.corrupt",
        "vault.unknown_algorithm",
        "vault.tampered",
        "vault.wrong_key",
    }


# -- truncation and appended data ------------------------------------------------------


def _truncation_code(cut: int) -> str:
    return "vault.corrupt" if cut < 4 else "vault.truncated"


@pytest.mark.parametrize("size", [0, CHUNK, 2 * CHUNK + 300])
def test_truncation_at_every_length_is_rejected_before_any_output(size: int) -> None:
    blob = _seal(_data(size, 11))
    for cut in range(len(blob)):
        code, released = _failure(blob[:cut])
        assert (cut, code) == (cut, _truncation_code(cut))
        assert released == b""


def _truncation_points(size: int) -> list[int]:
    total = _expected_len(size)
    points = {0, 1, 3, 4, 5, HEADER_LEN - 1, HEADER_LEN, HEADER_LEN + 1, total - 1}
    for k in range(max(1, -(-size // CHUNK)) + 1):
        boundary = HEADER_LEN + k * SEALED
        points |= {boundary - 1, boundary, boundary + 1, boundary + CHUNK}
    return sorted(p for p in points if 0 <= p < total)


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("size", [0, 1, CHUNK, 3 * CHUNK, 3 * CHUNK + 17])
def test_streaming_truncation_is_rejected_after_verified_chunks_only(
    size: int, cipher: Cipher
) -> None:
    data = _data(size, 13)
    blob = _seal(data, cipher)
    for cut in _truncation_points(size):
        code, released = _failure(blob[:cut], streaming=True)
        assert (cut, code) == (cut, _truncation_code(cut))
        complete = max(0, cut - HEADER_LEN) // SEALED
        assert released == data[: complete * CHUNK]


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 4 * CHUNK), cut=st.integers(min_value=0), seed=st.integers(0, 99))
def test_streaming_truncation_property(size: int, cut: int, seed: int) -> None:
    data = _data(size, seed)
    blob = _seal(data)
    cut %= len(blob)
    code, released = _failure(blob[:cut], streaming=True)
    assert code == _truncation_code(cut)
    assert released == data[: (max(0, cut - HEADER_LEN) // SEALED) * CHUNK]


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("size", [CHUNK, 3 * CHUNK, 3 * CHUNK + 500])
def test_dropping_the_whole_final_chunk_is_truncation(size: int, streaming: bool) -> None:
    data = _data(size, 17)
    blob = _seal(data)
    last = -(-size // CHUNK) - 1
    start, end = _chunk_span(last, size)
    assert end == len(blob)
    code, released = _failure(blob[:start], streaming=streaming)
    assert code == "vault.truncated"
    assert released == (data[: last * CHUNK] if streaming else b"")


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("extra", [b"\x00", b"\xff" * TAG_LEN, b"A" * (CHUNK + TAG_LEN)])
@pytest.mark.parametrize("size", [0, CHUNK, 2 * CHUNK + 5])
def test_appended_bytes_are_tampering(size: int, extra: bytes, streaming: bool) -> None:
    data = _data(size, 19)
    blob = _seal(data)
    code, released = _failure(blob + extra, streaming=streaming)
    assert code == "vault.tampered"
    # Streaming only learns about the extra data after the (authentic) final chunk.
    assert released == (data if streaming else b"")


def test_appending_a_copy_of_the_final_chunk_is_tampering() -> None:
    data = _data(2 * CHUNK, 21)
    blob = _seal(data)
    start, end = _chunk_span(1, len(data))
    for streaming in (False, True):
        code, _ = _failure(blob + blob[start:end], streaming=streaming)
        assert code == "vault.tampered"


@pytest.mark.parametrize("size", [0, CHUNK + 1])
def test_available_size_mismatch_is_reported_before_any_plaintext(size: int) -> None:
    blob = _seal(_data(size, 23))
    for available, expected in (
        (len(blob) - 1, "vault.truncated"),
        (len(blob) + 1, "vault.tampered"),
    ):
        dst = io.BytesIO()
        with pytest.raises(EncryptedObjectError) as caught:
            decrypt_stream(KEY, KEY_ID, io.BytesIO(blob), dst, available=available)
        assert caught.value.code == expected
        assert dst.getvalue() == b""


# -- moved, repeated and foreign chunks -------------------------------------------------


def _chunks(blob: bytes, size: int) -> list[bytes]:
    return [blob[slice(*_chunk_span(i, size))] for i in range(max(1, -(-size // CHUNK)))]


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize(("i", "j"), [(0, 1), (1, 2), (0, 3), (2, 3)])
def test_swapping_two_chunks_is_tampering(i: int, j: int, streaming: bool) -> None:
    data = _data(4 * CHUNK, 29)
    blob = _seal(data)
    chunks = _chunks(blob, len(data))
    chunks[i], chunks[j] = chunks[j], chunks[i]
    code, released = _failure(blob[:HEADER_LEN] + b"".join(chunks), streaming=streaming)
    assert code == "vault.tampered"
    assert released == data[: i * CHUNK]


@pytest.mark.parametrize("streaming", [False, True])
def test_duplicated_chunk_is_rejected(streaming: bool) -> None:
    data = _data(3 * CHUNK, 31)
    blob = _seal(data)
    c = _chunks(blob, len(data))
    # (body, verified chunks released when streaming); with the size known, a body that
    # grew is refused before any chunk is decrypted.
    cases = [
        (c[0] + c[0] + c[2], 1, 1),  # chunk 0 repeated in place of chunk 1
        (c[0] + c[0] + c[1] + c[2], 1, 0),  # chunk 0 inserted again
        (c[0] + c[1] + c[1] + c[2], 2, 0),  # chunk 1 inserted again
    ]
    for body, when_streaming, when_sized in cases:
        code, released = _failure(blob[:HEADER_LEN] + body, streaming=streaming)
        assert code == "vault.tampered"
        assert released == data[: (when_streaming if streaming else when_sized) * CHUNK]


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("index", [0, 1, 2])
def test_chunk_spliced_from_another_object_under_the_same_key_is_rejected(
    index: int, streaming: bool
) -> None:
    size = 2 * CHUNK + 100
    data, other = _data(size, 37), _data(size, 41)
    blob, foreign = _seal(data), _seal(other)
    assert parse_header(blob).nonce_prefix != parse_header(foreign).nonce_prefix
    chunks = _chunks(blob, size)
    chunks[index] = _chunks(foreign, size)[index]
    code, released = _failure(blob[:HEADER_LEN] + b"".join(chunks), streaming=streaming)
    assert code == "vault.tampered"
    assert released == data[: index * CHUNK]


def test_chunk_from_an_encryption_of_the_same_plaintext_is_rejected() -> None:
    data = _data(2 * CHUNK, 43)
    blob, again = _seal(data), _seal(data)
    spliced = blob[: HEADER_LEN + SEALED] + again[HEADER_LEN + SEALED :]
    code, released = _failure(spliced)
    assert code == "vault.tampered"
    assert released == data[:CHUNK]


def test_header_of_another_object_is_rejected() -> None:
    size = CHUNK + 9
    blob, foreign = _seal(_data(size, 47)), _seal(_data(size, 53))
    # A genuine header (same key, key id and length) over another object's chunks.
    code, released = _failure(foreign[:HEADER_LEN] + blob[HEADER_LEN:])
    assert code == "vault.tampered"
    assert released == b""


# -- header edits, keys, magic ---------------------------------------------------------


def _set(offset: int, value: bytes) -> Any:
    def edit(blob: bytearray) -> None:
        blob[offset : offset + len(value)] = value

    return edit


def _length(delta: int | None = None, absolute: int | None = None) -> Any:
    def edit(blob: bytearray) -> None:
        current = int.from_bytes(blob[16:24], "big")
        new = absolute if absolute is not None else current + (delta or 0)
        blob[16:24] = new.to_bytes(8, "big")

    return edit


def _other_cipher(blob: bytearray) -> None:
    blob[5] = 3 - blob[5]


HEADER_EDITS = [
    ("version-0", _set(4, b"\x00"), "vault.unknown_algorithm"),
    ("version-2", _set(4, b"\x02"), "vault.unknown_algorithm"),
    ("version-255", _set(4, b"\xff"), "vault.unknown_algorithm"),
    ("cipher-0", _set(5, b"\x00"), "vault.unknown_algorithm"),
    ("cipher-3", _set(5, b"\x03"), "vault.unknown_algorithm"),
    ("cipher-9", _set(5, b"\x09"), "vault.unknown_algorithm"),
    ("cipher-other-valid", _other_cipher, "vault.tampered"),
    ("chunk-log2-11", _set(6, b"\x0b"), "vault.unknown_algorithm"),
    ("chunk-log2-27", _set(6, b"\x1b"), "vault.unknown_algorithm"),
    ("chunk-log2-0", _set(6, b"\x00"), "vault.unknown_algorithm"),
    ("chunk-log2-13", _set(6, b"\x0d"), "vault.tampered"),
    ("chunk-log2-26", _set(6, b"\x1a"), "vault.tampered"),
    ("reserved-7", _set(7, b"\x01"), "vault.corrupt"),
    ("reserved-15", _set(15, b"\x80"), "vault.corrupt"),
    ("length-plus-1", _length(1), "vault.tampered"),
    ("length-minus-1", _length(-1), "vault.tampered"),
    ("length-plus-chunk", _length(CHUNK), "vault.tampered"),
    ("length-zero", _length(absolute=0), "vault.tampered"),
    ("length-2**63", _length(absolute=2**63), "vault.corrupt"),
    ("length-max", _length(absolute=2**64 - 1), "vault.corrupt"),
    ("nonce-prefix", _set(8, b"\x00" * 7), "vault.tampered"),
    ("key-id", _set(24, b"\x00" * 16), "vault.wrong_key"),
    ("key-check", _set(40, b"\x00" * 16), "vault.wrong_key"),
    ("header-mac", _set(56, b"\x00" * 16), "vault.tampered"),
    ("magic", _set(0, b"BSTX"), "vault.corrupt"),
]


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize(
    ("edit", "expected"),
    [pytest.param(edit, code, id=name) for name, edit, code in HEADER_EDITS],
)
def test_header_edits_are_rejected_with_their_code(
    edit: Any, expected: str, cipher: Cipher
) -> None:
    blob = bytearray(_seal(_data(2 * CHUNK + 1, 59), cipher))
    original = bytes(blob)
    edit(blob)
    assert bytes(blob) != original
    for streaming in (False, True):
        code, released = _failure(bytes(blob), streaming=streaming)
        assert code == expected
        assert released == b""


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("cipher", CIPHERS)
def test_wrong_key_and_wrong_key_id_are_wrong_key(cipher: Cipher, streaming: bool) -> None:
    blob = _seal(_data(CHUNK + 3, 61), cipher)
    for key, key_id in ((OTHER_KEY, KEY_ID), (KEY, bytes(16)), (OTHER_KEY, bytes(16))):
        code, released = _failure(blob, streaming=streaming, key=key, key_id=key_id)
        assert code == "vault.wrong_key"
        assert released == b""


@pytest.mark.parametrize("blob", [b"", b"B", b"BST", b"BSTN" + bytes(68), b"XXXX", b"\x00" * 200])
def test_bad_magic_is_corrupt(blob: bytes) -> None:
    code, released = _failure(blob)
    assert code == "vault.corrupt"
    assert released == b""
    with pytest.raises(EncryptedObjectError) as caught:
        parse_header(blob)
    assert caught.value.code == "vault.corrupt"


def test_parse_header_of_a_short_header_with_magic_is_truncated() -> None:
    blob = _seal(b"abc")
    for cut in range(4, HEADER_LEN):
        with pytest.raises(EncryptedObjectError) as caught:
            parse_header(blob[:cut])
        assert caught.value.code == "vault.truncated"


# -- never any unauthenticated plaintext -------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("size", [4 * CHUNK, 4 * CHUNK - 100])
def test_tampered_chunk_k_releases_exactly_the_k_verified_chunks_before_it(
    size: int, cipher: Cipher, streaming: bool
) -> None:
    data = _data(size, 67)
    blob = _seal(data, cipher)
    for k in range(4):
        start, end = _chunk_span(k, size)
        # Damage the ciphertext body, and separately the tag, of chunk k.
        for offset in (start, (start + end) // 2, end - 1):
            damaged = bytearray(blob)
            damaged[offset] ^= 0x01
            code, released = _failure(bytes(damaged), streaming=streaming)
            assert code == "vault.tampered"
            assert released == data[: k * CHUNK]


# -- the source must match its announced length ----------------------------------------


@pytest.mark.parametrize(("announced", "actual"), [(10, 9), (CHUNK + 1, CHUNK), (0, 1), (10, 11)])
def test_encrypt_refuses_a_source_that_does_not_match_its_length(
    announced: int, actual: int
) -> None:
    with pytest.raises(InvalidInput) as caught:
        encrypt_stream(
            KEY, KEY_ID, io.BytesIO(_data(actual)), io.BytesIO(), announced, chunk_size=CHUNK
        )
    assert caught.value.code == "vault.source_changed"


@pytest.mark.parametrize("chunk_size", [1, 2048, 3000, 4095, 4097, 6000, 1 << 27, -4096])
def test_bad_chunk_sizes_are_refused(chunk_size: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        encrypt_stream(KEY, KEY_ID, io.BytesIO(b"abc"), io.BytesIO(), 3, chunk_size=chunk_size)
    assert caught.value.code == "vault.bad_chunk_size"


def test_zero_chunk_size_is_refused_as_a_bad_chunk_size() -> None:
    # Out of [4096, 64 MiB] like any other: an InvalidInput, not a ZeroDivisionError.
    with pytest.raises(InvalidInput) as caught:
        encrypt_stream(KEY, KEY_ID, io.BytesIO(b"abc"), io.BytesIO(), 3, chunk_size=0)
    assert caught.value.code == "vault.bad_chunk_size"


def test_key_and_key_id_lengths_are_checked() -> None:
    with pytest.raises(ValueError):
        encrypt_bytes(KEY[:31], KEY_ID, b"x")
    with pytest.raises(ValueError):
        encrypt_bytes(KEY, KEY_ID[:15], b"x")


# -- readers that deliver in pieces ------------------------------------------------------


@pytest.mark.parametrize("step", [1, 7, 100, 5000])
def test_buffered_pipe_like_reader_round_trips(step: int) -> None:
    data = _data(2 * CHUNK + 33, 71)
    blob = _seal(data)
    dst = io.BytesIO()
    decrypt_stream(KEY, KEY_ID, io.BufferedReader(Trickle(blob, step)), dst)
    assert dst.getvalue() == data
    enc = io.BytesIO()
    encrypt_stream(
        KEY, KEY_ID, io.BufferedReader(Trickle(data, step)), enc, len(data), chunk_size=CHUNK
    )
    assert decrypt_bytes(KEY, KEY_ID, enc.getvalue()) == data


@pytest.mark.parametrize("step", [1, 7, 71])
def test_raw_reader_with_short_reads_round_trips(step: int) -> None:
    # A raw (unbuffered) pipe or socket may return fewer bytes than asked for at any time;
    # that is not the end of the stream.
    data = _data(CHUNK + 33, 73)
    blob = _seal(data)
    dst = io.BytesIO()
    decrypt_stream(KEY, KEY_ID, Trickle(blob, step), dst)
    assert dst.getvalue() == data
