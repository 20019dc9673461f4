"""The streaming encrypted-object format (``BSTM`` version 1), documented in
docs/formats/encrypted-object.md.

An object is a 72-byte header followed by authenticated chunks. Every chunk is sealed
with the object's own data key under a nonce made of a random per-object prefix, the
chunk counter and a final-chunk flag, with the whole header as associated data. So a
flipped bit, a dropped, swapped or repeated chunk, a truncation, data appended after the
final chunk, or a chunk spliced in from another object all fail authentication.

Memory is bounded by two chunk buffers, reused for the whole stream (a fresh allocation
per chunk costs a factor of ten in throughput). The plaintext SHA-256 is computed in the
same pass, never in a second read.

Decryption releases plaintext chunk by chunk, each one authenticated before it is
written; callers that must not expose a prefix of a damaged object (``vault.get``) write
to a temporary file and publish it only when :func:`decrypt_stream` returned.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import io
import secrets
import struct
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from bastion.errors import EncryptedObjectError, InvalidInput

MAGIC = b"BSTM"
VERSION = 1
HEADER_LEN = 72
TAG_LEN = 16
KEY_LEN = 32
KEY_ID_LEN = 16
PREFIX_LEN = 7
MIN_CHUNK_LOG2 = 12  # 4 KiB
MAX_CHUNK_LOG2 = 26  # 64 MiB: bounds the memory a hostile header can make us allocate
DEFAULT_CHUNK_LOG2 = 20  # 1 MiB
MAX_CHUNKS = 2**32  # the counter is 32 bits

# Header layout: magic, version, cipher, chunk_log2, reserved, nonce prefix, reserved,
# plaintext length, key id, key check, header MAC.
_HEAD = struct.Struct(">4sBBBB7sBQ16s16s")
_MAC_OFFSET = _HEAD.size  # 56
assert _MAC_OFFSET + 16 == HEADER_LEN


class Cipher(enum.IntEnum):
    """AEAD algorithm identifiers as stored in the header (crypto agility)."""

    AES_256_GCM = 1
    CHACHA20_POLY1305 = 2

    @property
    def label(self) -> str:
        """Name used in configuration and metadata."""
        return _LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> Cipher:
        """Parse ``aes-256-gcm`` or ``chacha20-poly1305``."""
        for cipher, name in _LABELS.items():
            if name == label:
                return cipher
        raise InvalidInput(
            f"unknown cipher {label!r}",
            code="vault.unknown_algorithm",
            hint="Use aes-256-gcm or chacha20-poly1305.",
        )


_LABELS = {Cipher.AES_256_GCM: "aes-256-gcm", Cipher.CHACHA20_POLY1305: "chacha20-poly1305"}


class ByteReader(Protocol):
    """What a stream reads from: a binary file or anything with ``readinto``."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...

    def read(self, size: int = -1, /) -> bytes | None: ...


class ByteWriter(Protocol):
    """What a stream writes to."""

    def write(self, data: bytes | memoryview, /) -> int | None: ...


class _Aead(Protocol):
    def encrypt_into(
        self, nonce: bytes, data: memoryview, associated_data: bytes, buf: memoryview
    ) -> int: ...

    def decrypt_into(
        self, nonce: bytes, data: memoryview, associated_data: bytes, buf: memoryview
    ) -> int: ...


def _aead(cipher: Cipher, key: bytes) -> _Aead:
    if cipher is Cipher.AES_256_GCM:
        return AESGCM(key)
    return ChaCha20Poly1305(key)


@dataclass(frozen=True)
class StreamHeader:
    """The parsed, not yet authenticated, header of an encrypted object."""

    cipher: Cipher
    chunk_size: int
    nonce_prefix: bytes
    plaintext_length: int
    key_id: bytes

    @property
    def chunk_count(self) -> int:
        """Number of chunks; an empty object still has one (empty, final) chunk."""
        return max(1, -(-self.plaintext_length // self.chunk_size))

    @property
    def ciphertext_length(self) -> int:
        """Exact size of the whole encrypted object in bytes."""
        return HEADER_LEN + self.plaintext_length + TAG_LEN * self.chunk_count


@dataclass(frozen=True)
class StreamResult:
    """What one pass over a stream produced."""

    plaintext_length: int
    ciphertext_length: int
    sha256: str


def _err(code: str, message: str) -> EncryptedObjectError:
    return EncryptedObjectError(message, code=code)


def _key_check(key: bytes) -> bytes:
    # Commits the header to the key: a wrong key is told apart from tampering, and the
    # AEAD's lack of key commitment cannot be used to make one object open two ways.
    return hmac.new(key, b"bastion-stream/key-check", hashlib.sha256).digest()[:16]


def _header_mac(key: bytes, head: bytes) -> bytes:
    return hmac.new(key, b"bastion-stream/header\x00" + head, hashlib.sha256).digest()[:16]


def _chunk_log2(chunk_size: int) -> int:
    log2 = chunk_size.bit_length() - 1
    if not MIN_CHUNK_LOG2 <= log2 <= MAX_CHUNK_LOG2 or chunk_size != 1 << log2:
        raise InvalidInput(
            f"chunk size must be a power of two between {1 << MIN_CHUNK_LOG2} and "
            f"{1 << MAX_CHUNK_LOG2} bytes, got {chunk_size}",
            code="vault.bad_chunk_size",
        )
    return log2


def encode_header(key: bytes, header: StreamHeader) -> bytes:
    """Serialize and MAC a header under the object's data key."""
    head = _HEAD.pack(
        MAGIC,
        VERSION,
        int(header.cipher),
        _chunk_log2(header.chunk_size),
        0,
        header.nonce_prefix,
        0,
        header.plaintext_length,
        header.key_id,
        _key_check(key),
    )
    return head + _header_mac(key, head)


def parse_header(raw: bytes) -> StreamHeader:
    """Parse a header without a key: format checks only, nothing is authenticated yet."""
    if len(raw) < len(MAGIC) or raw[: len(MAGIC)] != MAGIC:
        raise _err("vault.corrupt", "not a Bastion encrypted object (bad magic)")
    if len(raw) < HEADER_LEN:
        raise _err("vault.truncated", "encrypted object ends inside its header")
    _magic, version, cipher, log2, r1, prefix, r2, length, key_id, _check = _HEAD.unpack(
        raw[:_MAC_OFFSET]
    )
    if version != VERSION:
        raise _err("vault.unknown_algorithm", f"encrypted-object format version {version}")
    try:
        parsed_cipher = Cipher(cipher)
    except ValueError:
        raise _err("vault.unknown_algorithm", f"unknown cipher identifier {cipher}") from None
    if not MIN_CHUNK_LOG2 <= log2 <= MAX_CHUNK_LOG2:
        raise _err("vault.unknown_algorithm", f"unsupported chunk size 2**{log2}")
    if r1 or r2:
        raise _err("vault.corrupt", "reserved header bytes are not zero")
    header = StreamHeader(parsed_cipher, 1 << log2, prefix, length, key_id)
    if header.chunk_count > MAX_CHUNKS:
        raise _err("vault.corrupt", "object is longer than the format allows")
    return header


def _authenticate_header(key: bytes, raw: bytes, header: StreamHeader, key_id: bytes) -> None:
    if len(key) != KEY_LEN:
        raise ValueError("data keys are 32 bytes")
    if not hmac.compare_digest(header.key_id, key_id):
        raise _err("vault.wrong_key", "object was encrypted under a different data key")
    if not hmac.compare_digest(raw[40:56], _key_check(key)):
        raise _err("vault.wrong_key", "the data key does not open this object")
    if not hmac.compare_digest(raw[_MAC_OFFSET:HEADER_LEN], _header_mac(key, raw[:_MAC_OFFSET])):
        raise _err("vault.tampered", "encrypted-object header was modified")


class _Digest:
    """SHA-256 on a helper thread, one chunk in flight.

    hashlib releases the GIL on large buffers, so hashing chunk k overlaps encrypting,
    writing and reading around it; SHA-256 is the slowest stage of a vault write. The
    caller alternates two buffers, and :meth:`update` waits for the previous chunk's
    hash before it starts the next, so a buffer is never refilled while being hashed.
    """

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="bastion-sha256")
        self._job: Future[None] | None = None

    def _wait(self) -> None:
        if self._job is not None:
            job, self._job = self._job, None
            job.result()

    def update(self, view: memoryview) -> None:
        """Hash ``view`` in the background (after the previous chunk finished)."""
        self._wait()
        self._job = self._pool.submit(self._hash.update, view)

    def hexdigest(self) -> str:
        """The digest of everything passed to :meth:`update`."""
        self._wait()
        return self._hash.hexdigest()

    def close(self) -> None:
        """Stop the helper thread."""
        try:
            self._wait()
        finally:
            self._pool.shutdown()


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


Source = ByteReader | bytes | bytearray | memoryview


class _Chunks:
    """Hands out the next ``n`` bytes of a source.

    From a file-like reader they are read into the caller's reused buffer; from an
    object already in memory they are a slice of it, so nothing is copied.
    """

    def __init__(self, src: Source):
        self._view: memoryview | None = None
        self._reader: ByteReader | None = None
        if isinstance(src, bytes | bytearray | memoryview):
            self._view = memoryview(src).cast("B")
        else:
            self._reader = src
        self._offset = 0

    def take(self, n: int, buffer: memoryview) -> memoryview:
        """Up to ``n`` bytes (fewer only at the end of the source)."""
        if self._view is not None:
            piece = self._view[self._offset : self._offset + n]
            self._offset += len(piece)
            return piece
        assert self._reader is not None
        return buffer[: _read_exact(self._reader, buffer[:n])]

    def exhausted(self) -> bool:
        """True when nothing follows what was taken."""
        if self._view is not None:
            return self._offset == len(self._view)
        assert self._reader is not None
        return not self._reader.read(1)


def _read_exact(src: ByteReader, view: memoryview) -> int:
    """Fill ``view`` from ``src``; return how many bytes arrived (less only at EOF)."""
    got = 0
    while got < len(view):
        n = src.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def encrypt_stream(
    key: bytes,
    key_id: bytes,
    src: Source,
    dst: ByteWriter,
    length: int,
    *,
    cipher: Cipher = Cipher.AES_256_GCM,
    chunk_size: int = 1 << DEFAULT_CHUNK_LOG2,
    hash_plaintext: bool = True,
    progress: Callable[[int], None] | None = None,
) -> StreamResult:
    """Encrypt exactly ``length`` bytes of ``src`` into ``dst``; hash them on the way.

    The SHA-256 of the plaintext (``StreamResult.sha256``) is computed in the same pass;
    ``hash_plaintext=False`` skips it (only for measuring the format itself).
    ``progress`` is called with the number of plaintext bytes of each chunk written.

    ``src`` must hold exactly ``length`` bytes: a source that grows or shrinks while it
    is read (a file being written by someone else) is refused, not half-stored.
    """
    if len(key) != KEY_LEN or len(key_id) != KEY_ID_LEN:
        raise ValueError("encrypt_stream needs a 32-byte key and a 16-byte key id")
    _chunk_log2(chunk_size)
    header = StreamHeader(cipher, chunk_size, secrets.token_bytes(PREFIX_LEN), length, key_id)
    if header.chunk_count > MAX_CHUNKS:
        raise InvalidInput("object too large for this chunk size", code="vault.too_large")
    aad = encode_header(key, header)
    dst.write(aad)
    aead = _aead(cipher, key)
    digest = _Digest() if hash_plaintext else None
    # Two plaintext buffers: one being hashed while the other is read and encrypted.
    plains = (memoryview(bytearray(chunk_size)), memoryview(bytearray(chunk_size)))
    sealed = memoryview(bytearray(chunk_size + TAG_LEN))
    remaining = length
    prefix = header.nonce_prefix
    chunks = _Chunks(src)
    try:
        for index in range(header.chunk_count):
            want = min(chunk_size, remaining)
            plain = chunks.take(want, plains[index & 1])
            if len(plain) != want:
                raise InvalidInput(
                    "the source ended before its announced length (was it modified while read?)",
                    code="vault.source_changed",
                )
            remaining -= want
            final = index == header.chunk_count - 1
            if digest is not None:
                digest.update(plain)
            aead.encrypt_into(_nonce(prefix, index, final), plain, aad, sealed[: want + TAG_LEN])
            dst.write(sealed[: want + TAG_LEN])
            if progress is not None:
                progress(want)
        if not chunks.exhausted():
            raise InvalidInput("the source grew while it was read", code="vault.source_changed")
        sha = digest.hexdigest() if digest else ""
    finally:
        if digest is not None:
            digest.close()
    return StreamResult(length, header.ciphertext_length, sha)


def decrypt_stream(
    key: bytes,
    key_id: bytes,
    src: Source,
    dst: ByteWriter,
    *,
    available: int | None = None,
    hash_plaintext: bool = True,
    progress: Callable[[int], None] | None = None,
) -> StreamResult:
    """Authenticate and decrypt an object from ``src`` into ``dst``.

    ``available`` is the stored size when known (a file): a short file is reported as
    ``vault.truncated`` before anything is decrypted. Raises
    :class:`~bastion.errors.EncryptedObjectError` with a specific code on any failure.
    """
    chunks = _Chunks(src)
    raw = bytes(chunks.take(HEADER_LEN, memoryview(bytearray(HEADER_LEN))))
    header = parse_header(raw)
    _authenticate_header(key, raw, header, key_id)
    if available is not None:
        if available < header.ciphertext_length:
            raise _err("vault.truncated", "encrypted object is shorter than its header says")
        if available > header.ciphertext_length:
            raise _err("vault.tampered", "data follows the final chunk")
    aead = _aead(header.cipher, key)
    digest = _Digest() if hash_plaintext else None
    sealed = memoryview(bytearray(header.chunk_size + TAG_LEN))
    plains = (memoryview(bytearray(header.chunk_size)), memoryview(bytearray(header.chunk_size)))
    remaining = header.plaintext_length
    try:
        for index in range(header.chunk_count):
            want = min(header.chunk_size, remaining)
            record = chunks.take(want + TAG_LEN, sealed)
            if len(record) != want + TAG_LEN:
                raise _err("vault.truncated", f"encrypted object ends inside chunk {index}")
            final = index == header.chunk_count - 1
            plain = plains[index & 1][:want]
            try:
                aead.decrypt_into(_nonce(header.nonce_prefix, index, final), record, raw, plain)
            except InvalidTag:
                raise _err("vault.tampered", f"chunk {index} failed authentication") from None
            remaining -= want
            if digest is not None:
                digest.update(plain)
            dst.write(plain)
            if progress is not None:
                progress(want)
        if not chunks.exhausted():
            raise _err("vault.tampered", "data follows the final chunk")
        sha = digest.hexdigest() if digest else ""
    finally:
        if digest is not None:
            digest.close()
    return StreamResult(header.plaintext_length, header.ciphertext_length, sha)


def encrypt_bytes(
    key: bytes,
    key_id: bytes,
    data: bytes | bytearray | memoryview,
    *,
    cipher: Cipher = Cipher.AES_256_GCM,
    chunk_size: int = 1 << DEFAULT_CHUNK_LOG2,
) -> bytes:
    """In-memory convenience around :func:`encrypt_stream`."""
    out = io.BytesIO()
    view = memoryview(data).cast("B")
    encrypt_stream(key, key_id, view, out, len(view), cipher=cipher, chunk_size=chunk_size)
    return out.getvalue()


def decrypt_bytes(key: bytes, key_id: bytes, blob: bytes | bytearray | memoryview) -> bytes:
    """In-memory convenience around :func:`decrypt_stream`."""
    out = io.BytesIO()
    view = memoryview(blob).cast("B")
    decrypt_stream(key, key_id, view, out, available=len(view))
    return out.getvalue()
