"""NumPy ``.npy``: header checks, exact body size, object arrays analysed as pickles."""

from __future__ import annotations

import io

import numpy as np
import pytest

from bastion.models.scan import Severity, Verdict, scan_bytes
from tests.models.scan import crafted


def save(array: np.ndarray, *, version: tuple[int, int] | None = None, **kwargs: bool) -> bytes:
    """``numpy.save`` (or ``write_array`` for an explicit format version) into memory."""
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array, **kwargs)
    else:
        np.lib.format.write_array(buffer, array, version=version, **kwargs)
    return buffer.getvalue()


ARRAYS = {
    "float64": np.linspace(0, 1, 33),
    "float32-2d": np.arange(12, dtype=np.float32).reshape(3, 4),
    "int8": np.arange(-5, 5, dtype=np.int8),
    "uint64": np.arange(7, dtype=np.uint64),
    "bool": np.array([True, False]),
    "complex": np.array([1j, 2 + 0.5j]),
    "float16": np.ones(3, dtype=np.float16),
    "big-endian": np.arange(4, dtype=">f8"),
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "unicode": np.array(["a", "bcd"]),
    "bytes": np.array([b"ab", b"c"]),
    "structured": np.zeros(4, dtype=[("x", "<f4"), ("y", "<i8", (2, 2)), ("z", "S3")]),
    "nested-struct": np.zeros(2, dtype=[("p", [("a", "<u2"), ("b", "?")]), ("q", "<f8")]),
    "datetime": np.array(["2024-01-01"], dtype="datetime64[D]"),
    "timedelta": np.array([5], dtype="timedelta64[s]"),
    "zero-d": np.array(1.25),
    "empty": np.zeros((0, 3)),
}


@pytest.mark.parametrize("name", list(ARRAYS))
def test_numeric_arrays_are_clean(name: str) -> None:
    result = scan_bytes(save(ARRAYS[name]), f"{name}.npy")
    assert result.verdict is Verdict.CLEAN, result
    assert result.findings == ()
    assert result.format == "npy"


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_every_header_version_is_read(version: tuple[int, int]) -> None:
    result = scan_bytes(save(np.arange(5.0), version=version), "a.npy")
    assert result.verdict is Verdict.CLEAN, result


def test_benign_object_array_is_clean() -> None:
    # Saving with allow_pickle only dumps: nothing is loaded.
    data = save(np.array([{"a": 1}, "text", None], dtype=object), allow_pickle=True)
    result = scan_bytes(data, "objects.npy")
    assert result.verdict is Verdict.CLEAN, result
    assert result.format == "npy_object"


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_object_array_with_a_malicious_pickle_body(protocol: int, version: tuple[int, int]) -> None:
    payload, inner_offset = crafted.system_call(protocol, crafted.HARMLESS.format(500))
    data = crafted.npy_object(payload, version)
    result = scan_bytes(data, "evil.npy")
    assert result.verdict is Verdict.MALICIOUS
    assert result.format == "npy_object"
    (finding,) = result.findings
    assert finding.global_name == "os.system"
    assert finding.offset == data.index(payload) + inner_offset
    assert data[finding.offset] == ord("c")


@pytest.mark.parametrize("cut", [8, 9, 30, -1, -8])
def test_truncated_npy_is_an_error(cut: int) -> None:
    data = save(np.arange(16.0))
    result = scan_bytes(data[:cut], "a.npy")
    assert result.verdict is Verdict.ERROR
    assert result.error and "truncated" in result.error


def test_trailing_bytes_are_a_low_finding() -> None:
    data = save(np.arange(4, dtype=np.int32))
    result = scan_bytes(data + b"hidden", "a.npy")
    assert result.verdict is Verdict.SUSPICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.LOW
    assert finding.scanner == "numpy"
    assert finding.offset == len(data)
    assert "6 bytes" in finding.detail


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("{'descr': '<f8', 'fortran_order': False}", "lacks"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", "shape"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': ('a',), }", "shape"),
        ("{'descr': 'xyz', 'fortran_order': False, 'shape': (1,), }", "dtype"),
        ("__import__('os').system('true')", "unreadable"),
        ("[1, 2, 3]", "lacks"),
        # A structured field whose sub-shape is not a tuple of sizes.
        ("{'descr': [('a', '<f4', ('x',))], 'fortran_order': False, 'shape': (1,), }", "dtype"),
        ("{'descr': [('a', '<f4', (None,))], 'fortran_order': False, 'shape': (1,), }", "dtype"),
        ("{'descr': [('a', '<f4', (-2,))], 'fortran_order': False, 'shape': (1,), }", "dtype"),
    ],
)
def test_bad_headers_are_errors(header: str, reason: str) -> None:
    result = scan_bytes(crafted.npy_header(header) + b"\x00" * 8, "a.npy")
    assert result.verdict is Verdict.ERROR
    assert result.error and reason in result.error


def test_unknown_format_version_is_an_error() -> None:
    data = bytearray(save(np.arange(3.0)))
    data[6] = 9
    result = scan_bytes(bytes(data), "a.npy")
    assert result.verdict is Verdict.ERROR
    assert result.error and "version" in result.error


def test_object_array_without_a_body_is_an_error() -> None:
    data = crafted.npy_object(b"")
    result = scan_bytes(data, "objects.npy")
    assert result.verdict is Verdict.ERROR
    assert result.error and "truncated" in result.error
