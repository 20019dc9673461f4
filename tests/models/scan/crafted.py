"""Hostile files assembled byte by byte, never by pickling an object with ``__reduce__``.

Every payload is harmless even if something loaded it by mistake: the commands are
``true`` or ``touch /tmp/bastion_pwned_test_NNN`` (which the session fixture watches for).
Nothing in these tests unpickles or loads what is built here.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Sequence

PROTOCOLS = (0, 1, 2, 3, 4, 5)
HARMLESS = "touch /tmp/bastion_pwned_test_{:03d}"

# Opcodes, spelled as in pickletools.
MARK, STOP, POP, TUPLE, REDUCE = b"(", b".", b"0", b"t", b"R"
GLOBAL_OP, STACK_GLOBAL_OP, EMPTY_TUPLE, MEMOIZE = b"c", b"\x93", b")", b"\x94"


def proto(protocol: int) -> bytes:
    """The PROTO header (protocols 0 and 1 have none)."""
    return b"\x80" + bytes([protocol]) if protocol >= 2 else b""


def text(value: str, protocol: int) -> bytes:
    """Push a str the way that protocol's pickler would."""
    raw = value.encode()
    if protocol >= 4 and len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE
    if protocol >= 1:
        return b"X" + struct.pack("<I", len(raw)) + raw  # BINUNICODE
    return b"V" + value.encode("raw-unicode-escape") + b"\n"  # UNICODE


def binbytes(value: bytes) -> bytes:
    """Push bytes (BINBYTES; protocol 3 and up)."""
    return b"B" + struct.pack("<I", len(value)) + value


def global_op(module: str, name: str) -> bytes:
    """GLOBAL: the import spelled inline (every protocol)."""
    return GLOBAL_OP + module.encode() + b"\n" + name.encode() + b"\n"


def stack_global(module: str, name: str, protocol: int) -> bytes:
    """STACK_GLOBAL with the module and name pushed just before it."""
    return text(module, protocol) + text(name, protocol) + STACK_GLOBAL_OP


def put(index: int, protocol: int) -> bytes:
    """Store the top of the stack in the memo at ``index``."""
    if protocol >= 4:
        return MEMOIZE  # the index is implicit: the memo's size
    if protocol >= 1:
        return b"q" + bytes([index])  # BINPUT
    return b"p" + str(index).encode() + b"\n"  # PUT


def get(index: int, protocol: int) -> bytes:
    """Push the memo entry ``index``."""
    if protocol >= 1:
        return b"h" + bytes([index])  # BINGET
    return b"g" + str(index).encode() + b"\n"  # GET


def call(args: Sequence[bytes]) -> bytes:
    """Call the callable on the stack with these pushed arguments (MARK ... TUPLE REDUCE)."""
    return MARK + b"".join(args) + TUPLE + REDUCE


def framed(protocol: int, body: bytes) -> tuple[bytes, int]:
    """A whole stream: header (with a FRAME at protocol 4+), body, STOP.

    Returns the stream and where ``body`` starts in it, so tests can compute offsets.
    """
    head = proto(protocol)
    if protocol >= 4:
        head += b"\x95" + struct.pack("<Q", len(body) + 1)
    return head + body + STOP, len(head)


def system_call(protocol: int, command: str, *, how: str = "global") -> tuple[bytes, int]:
    """``os.system(command)`` imported by GLOBAL or STACK_GLOBAL; returns (pickle, offset).

    The offset is that of the GLOBAL / STACK_GLOBAL opcode byte.
    """
    return callable_call(protocol, "os", "system", command, how=how)


def callable_call(
    protocol: int, module: str, name: str, argument: str, *, how: str = "global"
) -> tuple[bytes, int]:
    """``module.name(argument)``; returns (pickle, offset of the import opcode)."""
    if how == "global":
        importer = global_op(module, name)
        at = 0
    else:
        importer = stack_global(module, name, protocol)
        at = len(importer) - 1
    data, start = framed(protocol, importer + call([text(argument, protocol)]))
    return data, start + at


def memo_stack_global(protocol: int, module: str, name: str) -> tuple[bytes, int]:
    """STACK_GLOBAL whose module and name come back from the memo (MEMOIZE/BINPUT, BINGET).

    The strings are pushed, memoised and popped, then fetched back in front of the
    STACK_GLOBAL, so that nothing next to the opcode names the import.
    """
    body = (
        text(module, protocol)
        + put(0, protocol)
        + POP
        + text(name, protocol)
        + put(1, protocol)
        + POP
        + get(0, protocol)
        + get(1, protocol)
    )
    at = len(body)
    body += STACK_GLOBAL_OP + call([text("true", protocol)])
    data, start = framed(protocol, body)
    return data, start + at


def computed_stack_global(protocol: int = 4) -> tuple[bytes, int]:
    """STACK_GLOBAL whose module is the result of a call made at load time.

    ``builtins.str`` is allow-listed, so the only danger is that the import cannot be
    named statically.
    """
    body = global_op("builtins", "str") + call([text("os", protocol)]) + text("system", protocol)
    at = len(body)
    body += STACK_GLOBAL_OP + call([text("true", protocol)])
    data, start = framed(protocol, body)
    return data, start + at


def inject(benign: bytes, payload_body: bytes) -> tuple[bytes, int]:
    """Put opcodes that run a payload and POP its result in front of a real pickle.

    Like ``fickling --inject``: the payload runs first and the real object is still
    returned. ``benign`` must start with a PROTO header. Returns (pickle, payload offset).
    """
    assert benign[:1] == b"\x80"
    return benign[:2] + payload_body + POP + benign[2:], 2


def ext1(code: int = 1) -> bytes:
    """EXT1: an import through the copyreg extension registry."""
    return b"\x80\x02\x82" + bytes([code]) + STOP


def codecs_encoded(inner: bytes) -> bytes:
    """Protocol 2 spelling of a bytes object: ``_codecs.encode(text, 'latin1')``."""
    return (
        proto(2)
        + global_op("_codecs", "encode")
        + text(inner.decode("latin-1"), 2)
        + text("latin1", 2)
        + b"\x86"  # TUPLE2
        + REDUCE
        + STOP
    )


def npy_object(body: bytes, version: tuple[int, int] = (1, 0)) -> bytes:
    """An object-dtype ``.npy`` whose body (a pickle) is ``body``."""
    return npy_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", version) + body


def npy_header(header: str, version: tuple[int, int] = (1, 0)) -> bytes:
    """Magic, version, length and the header padded to 64 bytes, as numpy writes it."""
    raw = header.encode("latin-1")
    size = 2 if version[0] == 1 else 4
    prefix = 6 + 2 + size
    raw += b" " * (-(prefix + len(raw) + 1) % 64) + b"\n"
    length = struct.pack("<H" if size == 2 else "<I", len(raw))
    return b"\x93NUMPY" + bytes(version) + length + raw


def zip_of(
    members: Sequence[tuple[str, bytes]],
    *,
    compression: int = zipfile.ZIP_STORED,
    extra: bytes = b"",
) -> bytes:
    """A zip with these members (names are written as given, ``../`` and ``/`` included)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = compression
            info.extra = extra
            archive.writestr(info, data)
    return buffer.getvalue()


def safetensors_file(header: dict[str, object] | str, data: bytes) -> bytes:
    """8-byte little-endian header length, the JSON header, then the tensor data."""
    raw = header.encode() if isinstance(header, str) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data
