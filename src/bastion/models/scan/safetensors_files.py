"""safetensors files: only the JSON header is parsed, and every offset is checked.

The format has no code in it; what can go wrong is a header that lies: offsets past
the end of the file, tensors that overlap (one write seen through two names), holes,
byte counts that disagree with dtype and shape, duplicate names, or a header so large
that parsing it is itself the attack.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from bastion.models.scan.base import Finding, ScanFailed, Severity
from bastion.models.scan.engine import Target

SCANNER = "safetensors"
MAX_HEADER = 100 << 20  # the reference implementation refuses headers over 100 MB
_DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16,
    "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "I64": 64, "U64": 64,
    "F64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip


def _pairs_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise _Duplicate(dupes)
    return dict(pairs)


class _Duplicate(ValueError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class SafetensorsScanner:
    """``.safetensors`` headers."""

    name = "safetensors"

    def detect(self, head: bytes, name: str) -> str | None:
        if len(head) >= 9 and head[8:9] == b"{":
            return "safetensors"
        if len(head) >= 8 and name.lower().endswith(".safetensors"):
            return "safetensors"
        return None

    def scan(self, target: Target) -> list[Finding]:
        data = target.data
        base = target.base_offset
        findings: list[Finding] = []

        def flag(severity: Severity, detail: str, offset: int, name: str | None = None) -> None:
            findings.append(Finding(severity, SCANNER, detail, base + offset, name, target.member))

        (length,) = struct.unpack("<Q", bytes(data[:8]))
        if length > MAX_HEADER:
            flag(Severity.HIGH, f"oversized header: {length} bytes (limit {MAX_HEADER})", 0)
            return findings
        if 8 + length > len(data):
            flag(Severity.HIGH, f"header length {length} runs past the end of the file", 0)
            return findings
        try:
            header = json.loads(
                bytes(data[8 : 8 + length]).decode("utf-8"), object_pairs_hook=_pairs_no_duplicates
            )
        except _Duplicate as dup:
            flag(Severity.HIGH, f"duplicate tensor names in header: {dup}", 8)
            return findings
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ScanFailed("safetensors header is not valid JSON") from None
        if not isinstance(header, dict):
            raise ScanFailed("safetensors header is not a JSON object")
        data_start = 8 + length
        data_len = len(data) - data_start
        spans: list[tuple[int, int, str]] = []
        for name, entry in header.items():
            if name == "__metadata__":
                if not isinstance(entry, dict) or not all(
                    isinstance(v, str) for v in entry.values()
                ):
                    flag(Severity.MEDIUM, "__metadata__ must map strings to strings", 8)
                continue
            span = self._entry(name, entry, data_len, flag)
            if span is not None:
                spans.append((span[0], span[1], name))
        spans.sort()
        cursor = 0
        for begin, end, name in spans:
            if begin < cursor:
                flag(Severity.HIGH, f"tensor {name!r} overlaps another tensor", data_start + begin)
            elif begin > cursor:
                detail = f"{begin - cursor} unindexed bytes before {name!r}"
                flag(Severity.MEDIUM, detail, data_start + cursor)
            cursor = max(cursor, end)
        if cursor < data_len:
            detail = f"{data_len - cursor} bytes after the last tensor"
            flag(Severity.MEDIUM, detail, data_start + cursor)
        return findings

    @staticmethod
    def _entry(name: str, entry: Any, data_len: int, flag: Any) -> tuple[int, int] | None:
        if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
            flag(Severity.MEDIUM, f"tensor {name!r} lacks dtype, shape or data_offsets", 8)
            return None
        offsets, shape, dtype = entry["data_offsets"], entry["shape"], entry["dtype"]
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
            and offsets[0] <= offsets[1]
        ):
            flag(Severity.HIGH, f"tensor {name!r} has invalid data_offsets {offsets!r}", 8)
            return None
        begin, end = offsets
        if end > data_len:
            flag(Severity.HIGH, f"tensor {name!r} ends at {end}, past the data ({data_len})", 8)
            return None
        if not isinstance(dtype, str) or dtype not in _DTYPE_BITS:
            flag(Severity.MEDIUM, f"tensor {name!r} has unknown dtype {dtype!r}", 8)
            return (begin, end)
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            flag(Severity.HIGH, f"tensor {name!r} has an invalid shape", 8)
            return (begin, end)
        need = math.ceil(math.prod(shape) * _DTYPE_BITS[dtype] / 8)
        if need != end - begin:
            flag(
                Severity.HIGH,
                f"tensor {name!r} needs {need} bytes but its offsets span {end - begin}",
                8,
            )
        return (begin, end)
