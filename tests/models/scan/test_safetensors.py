"""safetensors: real files are clean; headers that lie about offsets are findings."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from safetensors.numpy import save

from bastion.models.scan import Severity, Verdict, scan_bytes
from tests.models.scan.crafted import safetensors_file


def f32(name_offsets: list[tuple[str, int, int]], shape: list[int] | None = None) -> dict:
    """Header entries for F32 tensors at the given offsets (shape defaults to the span)."""
    return {
        name: {
            "dtype": "F32",
            "shape": shape if shape is not None else [(end - begin) // 4],
            "data_offsets": [begin, end],
        }
        for name, begin, end in name_offsets
    }


@pytest.mark.parametrize(
    "tensors",
    [
        {"w": np.zeros((2, 3), dtype=np.float32), "b": np.arange(3, dtype=np.int64)},
        {"h": np.ones(5, dtype=np.float16), "m": np.array([True, False]), "u": np.zeros(1, "u1")},
        {"scalar": np.array(1.5, dtype=np.float64), "empty": np.zeros((0, 4), np.float32)},
    ],
    ids=["f32-i64", "f16-bool-u8", "scalar-empty"],
)
@pytest.mark.parametrize("metadata", [None, {"format": "np", "author": "tests"}])
def test_real_files_are_clean(tensors: dict, metadata: dict | None) -> None:
    data = save(tensors, metadata=metadata)
    result = scan_bytes(data, "model.safetensors")
    assert result.verdict is Verdict.CLEAN, result
    assert result.format == "safetensors"
    # Detected by content too, whatever the name.
    assert scan_bytes(data, "weights.bin").format == "safetensors"


def test_oversized_header_is_high() -> None:
    data = struct.pack("<Q", 200 << 20) + b"{}" + b"\x00" * 16
    result = scan_bytes(data, "model.safetensors")
    assert result.verdict is Verdict.MALICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.HIGH
    assert "oversized header" in finding.detail
    assert finding.offset == 0


def test_header_length_past_the_end_is_high() -> None:
    data = struct.pack("<Q", 1000) + b'{"a": 1}'
    (finding,) = scan_bytes(data, "model.safetensors").findings
    assert finding.severity is Severity.HIGH
    assert "past the end" in finding.detail


CASES = [
    # (header, data length, severity, words in the detail)
    (f32([("a", 0, 16), ("b", 8, 24)]), 24, Severity.HIGH, "overlaps"),
    (f32([("a", 0, 16)]) | f32([("b", 16, 1000)]), 32, Severity.HIGH, "past the data"),
    (f32([("a", 0, 16)], shape=[3]), 16, Severity.HIGH, "needs 12 bytes"),
    (f32([("a", 0, 8), ("b", 16, 24)]), 24, Severity.MEDIUM, "unindexed bytes"),
    (f32([("a", 0, 8)]), 12, Severity.MEDIUM, "after the last tensor"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}, 8, Severity.HIGH, "invalid"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, 4, Severity.HIGH, "invalid"),
    ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4, Severity.HIGH, "shape"),
    ({"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, 4, Severity.MEDIUM, "dtype"),
    ({"a": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, 4, Severity.MEDIUM, "dtype"),
    ({"a": {"dtype": "F32", "shape": [1]}}, 4, Severity.MEDIUM, "lacks"),
    ({"__metadata__": {"n": 1}} | f32([("a", 0, 4)]), 4, Severity.MEDIUM, "__metadata__"),
]


@pytest.mark.parametrize(("header", "size", "severity", "words"), CASES)
def test_lying_headers_are_findings(
    header: dict, size: int, severity: Severity, words: str
) -> None:
    data = safetensors_file(header, b"\x00" * size)
    result = scan_bytes(data, "model.safetensors")
    assert result.error is None
    worst = result.findings[0]
    assert worst.severity is severity, result.findings
    assert any(words in f.detail for f in result.findings), result.findings
    assert worst.scanner == "safetensors"
    assert result.verdict is (
        Verdict.MALICIOUS if severity >= Severity.HIGH else Verdict.SUSPICIOUS
    )


def test_hole_and_tail_offsets_are_in_the_file() -> None:
    header = f32([("a", 0, 8), ("b", 16, 24)])
    data = safetensors_file(header, b"\x00" * 28)
    data_start = len(data) - 28
    findings = {f.detail: f.offset for f in scan_bytes(data, "m.safetensors").findings}
    assert findings == {
        "8 unindexed bytes before 'b'": data_start + 8,
        "4 bytes after the last tensor": data_start + 24,
    }


def test_overlap_offset_is_in_the_file() -> None:
    data = safetensors_file(f32([("a", 0, 16), ("b", 8, 24)]), b"\x00" * 24)
    (finding,) = scan_bytes(data, "m.safetensors").findings
    assert finding.offset == len(data) - 24 + 8


def test_duplicate_tensor_names_are_high() -> None:
    raw = (
        '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
        ' "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'
    )
    result = scan_bytes(safetensors_file(raw, b"\x00" * 8), "model.safetensors")
    assert result.verdict is Verdict.MALICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.HIGH
    assert "duplicate tensor names" in finding.detail and "a" in finding.detail


@pytest.mark.parametrize("raw", ['{"a": ', "[1, 2]", '{"a": 1', "\udcff"])
def test_invalid_json_header_is_an_error(raw: str) -> None:
    encoded = raw.encode("utf-8", "surrogateescape")
    data = struct.pack("<Q", len(encoded)) + encoded
    result = scan_bytes(data, "model.safetensors")
    assert result.verdict is Verdict.ERROR
    assert result.error and "header" in result.error
