"""NumPy ``.npy`` files: the header is parsed as a literal, object arrays as pickles.

An object array's body is a pickle that ``numpy.load(allow_pickle=True)`` runs, so it
goes to the pickle analyser; a plain array is checked for a sane header and a body of
exactly the size its shape and dtype say.
"""

from __future__ import annotations

import ast
import math
import re
import struct
from typing import Any

from bastion.models.scan.base import Finding, ScanFailed, Severity
from bastion.models.scan.engine import Target

SCANNER = "numpy"
MAGIC = b"\x93NUMPY"
MAX_HEADER = 1 << 20
_DESCR = re.compile(r"[<>|=]?([?bBhHiIlLqQpPefdgFDGSUVOMmcua])(\d*)(?:\[\w+\])?")
_SIZES = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8}
_SIZES |= {"Q": 8, "p": 8, "P": 8, "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32}


def _itemsize(descr: Any) -> int | None:
    """Bytes per item of a dtype description, or None when it cannot be told."""
    if isinstance(descr, list):
        sizes = []
        for field in descr:
            if not (isinstance(field, tuple) and len(field) >= 2):
                return None
            size = _itemsize(field[1])
            if size is None:
                return None
            shape = field[2] if len(field) > 2 and isinstance(field[2], tuple) else ()
            if not all(isinstance(d, int) and d >= 0 for d in shape):
                return None
            sizes.append(size * math.prod(shape))
        return sum(sizes)
    if not isinstance(descr, str):
        return None
    match = _DESCR.fullmatch(descr)
    if match is None:
        return None
    kind, digits = match.groups()
    if digits:
        return int(digits) * (4 if kind == "U" else 1)
    return _SIZES.get(kind)


def _has_object(descr: Any) -> bool:
    if isinstance(descr, list):
        return any(isinstance(f, tuple) and len(f) >= 2 and _has_object(f[1]) for f in descr)
    return isinstance(descr, str) and descr.lstrip("<>|=").startswith("O")


class NpyScanner:
    """``.npy`` arrays (and, through the zip scanner, ``.npz`` members)."""

    name = "numpy"

    def detect(self, head: bytes, name: str) -> str | None:
        return "npy" if head.startswith(MAGIC) else None

    def scan(self, target: Target) -> list[Finding]:
        data = target.data
        if len(data) < 10:
            raise ScanFailed("truncated .npy header")
        major = data[6]
        if major == 1:
            (length,) = struct.unpack("<H", bytes(data[8:10]))
            start = 10
        elif major in (2, 3):
            if len(data) < 12:
                raise ScanFailed("truncated .npy header")
            (length,) = struct.unpack("<I", bytes(data[8:12]))
            start = 12
        else:
            raise ScanFailed(f"unknown .npy format version {major}")
        if length > MAX_HEADER or start + length > len(data):
            raise ScanFailed("truncated or oversized .npy header")
        encoding = "utf-8" if major == 3 else "latin-1"
        try:
            header = ast.literal_eval(bytes(data[start : start + length]).decode(encoding))
        except (ValueError, SyntaxError, UnicodeDecodeError, RecursionError, MemoryError):
            raise ScanFailed("unreadable .npy header") from None
        if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
            raise ScanFailed(".npy header lacks descr, fortran_order or shape")
        shape = header["shape"]
        if not (isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise ScanFailed(".npy header has an invalid shape")
        body = start + length
        if _has_object(header["descr"]):
            # numpy.load(allow_pickle=True) unpickles the body: analyse it as a pickle.
            target.format = "npy_object"
            if body >= len(data):
                raise ScanFailed("truncated .npy body: no pickled objects after the header")
            return target.nested(data[body:], "body.pkl", base_offset=target.base_offset + body)
        itemsize = _itemsize(header["descr"])
        if itemsize is None:
            raise ScanFailed(f"unsupported .npy dtype {header['descr']!r}")
        expected = math.prod(shape) * itemsize
        actual = len(data) - body
        if actual < expected:
            raise ScanFailed(f"truncated .npy body: {actual} of {expected} bytes")
        if actual > expected:
            return [
                Finding(
                    Severity.LOW,
                    SCANNER,
                    f"{actual - expected} bytes after the array data (hidden content?)",
                    target.base_offset + body + expected,
                    None,
                    target.member,
                )
            ]
        return []
