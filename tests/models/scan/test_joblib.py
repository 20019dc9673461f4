"""joblib streams: raw array bytes between the opcodes are skipped, compressed files opened.

``joblib.dump`` writes each array's bytes straight after the ``BUILD`` of a
``NumpyArrayWrapper``; a scanner that cannot skip them either fails or reads tensor data
as opcodes. Dumps are produced for real here (dumping runs nothing); nothing is loaded.
"""

from __future__ import annotations

import gzip
import io
import zlib

import joblib
import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from bastion.models.scan import Severity, Verdict, scan_bytes
from tests.models.scan import crafted


def dump(value: object, **kwargs: object) -> bytes:
    """``joblib.dump`` into memory."""
    buffer = io.BytesIO()
    joblib.dump(value, buffer, **kwargs)
    return buffer.getvalue()


def _forest() -> RandomForestClassifier:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 3))
    y = (x[:, 0] > 0).astype(int)
    return RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(x, y)


# Bytes that read as a malicious protocol-0 pickle, stored as array data: must stay data.
LOOKS_LIKE_OPCODES = np.frombuffer(b"cos\nsystem\n(S'true'\ntR." * 4, dtype=np.uint8)

VALUES = {
    "float": np.linspace(0.0, 1.0, 17),
    "int": np.arange(10, dtype=np.int32),
    "bool": np.array([True, False, True]),
    "uint8-opcodes": LOOKS_LIKE_OPCODES,
    "structured": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8", (2,))]),
    "unicode": np.array(["ab", "cde", "\u00e9"]),
    "bytes": np.array([b"x", b"yz"]),
    "object-dicts": np.array([{"a": 1}, {"b": [1, 2]}, None], dtype=object),
    "zero-d": np.array(3.5),
    "empty": np.zeros((0, 4)),
    "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "big-endian": np.arange(5, dtype=">i8"),
    "datetime": np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[ns]"),
    "complex": np.array([1 + 2j, 3 - 1j]),
    "float16": np.ones(5, dtype=np.float16),
    "nested": {"a": np.arange(3), "b": [np.ones(2), "s", np.array([None, 1], dtype=object)]},
    "forest": _forest(),
}


@pytest.mark.parametrize("name", list(VALUES))
def test_uncompressed_dump_is_clean(name: str) -> None:
    data = dump(VALUES[name])
    result = scan_bytes(data, f"{name}.joblib")
    assert result.verdict is Verdict.CLEAN, result
    assert result.findings == ()
    assert result.format == "joblib"


def test_array_bytes_that_look_like_opcodes_are_skipped() -> None:
    data = dump({"w": LOOKS_LIKE_OPCODES})
    assert b"cos\nsystem\n" in data  # the raw bytes really are in the stream
    assert scan_bytes(data, "w.joblib").verdict is Verdict.CLEAN


COMPRESSIONS = [
    (3, "zlib"),
    (("zlib", 3), "zlib"),
    (("gzip", 3), "gzip"),
    (("bz2", 3), "bz2"),
    (("xz", 3), "xz"),
    (("lzma", 3), "lzma"),
]


@pytest.mark.parametrize(("compress", "kind"), COMPRESSIONS)
@pytest.mark.parametrize("name", ["float", "object-dicts", "structured", "forest", "nested"])
def test_compressed_dump_is_clean_and_named(compress: object, kind: str, name: str) -> None:
    data = dump(VALUES[name], compress=compress)
    result = scan_bytes(data, f"{name}.joblib")
    assert result.verdict is Verdict.CLEAN, result
    assert result.format.startswith(f"{kind}+"), result.format
    assert result.format.split("+")[1] in ("joblib", "pickle")


def _with_sentinel_replaced(data: bytes, sentinel: str, replacement: bytes) -> tuple[bytes, int]:
    """Replace the push of ``sentinel`` (BINUNICODE or SHORT_BINUNICODE) by other opcodes."""
    raw = sentinel.encode()
    pushes = [b"X" + len(raw).to_bytes(4, "little") + raw, b"\x8c" + bytes([len(raw)]) + raw]
    (push,) = [p for p in pushes if p in data]
    assert data.count(push) == 1
    at = data.index(push)
    return data[:at] + replacement + data[at + len(push) :], at


PACKERS = {
    "plain": lambda data: data,
    "zlib": lambda data: zlib.compress(data, 3),
    "gzip": lambda data: gzip.compress(data, mtime=0),
}


@pytest.mark.parametrize("packing", list(PACKERS))
def test_payload_after_raw_arrays_is_found(packing: str) -> None:
    # The payload sits after an array's raw bytes: only a walk that skips them sees it.
    value = {"weights": np.arange(64.0), "after": "SENTINEL_VALUE"}
    plain = dump(value, protocol=2)
    assert plain.index(b"SENTINEL_VALUE") > plain.index(np.arange(64.0).tobytes())
    payload = crafted.global_op("os", "system") + crafted.call(
        [crafted.text(crafted.HARMLESS.format(300), 2)]
    )
    evil, offset = _with_sentinel_replaced(plain, "SENTINEL_VALUE", payload)
    assert evil[offset] == ord("c")

    result = scan_bytes(PACKERS[packing](evil), "model.joblib")
    assert result.verdict is Verdict.MALICIOUS
    # For a compressed file the offset is in the decompressed stream.
    assert [(f.severity, f.global_name, f.offset) for f in result.findings] == [
        (Severity.CRITICAL, "os.system", offset)
    ]


def test_payload_in_an_object_array_is_found() -> None:
    # joblib pickles object arrays as a nested pickle inside the stream.
    plain = dump({"objs": np.array(["SENTINEL_VALUE", 1], dtype=object)}, protocol=2)
    payload = crafted.global_op("subprocess", "Popen") + crafted.call(
        [crafted.text(crafted.HARMLESS.format(301), 2)]
    )
    evil, offset = _with_sentinel_replaced(plain, "SENTINEL_VALUE", payload)
    result = scan_bytes(evil, "model.joblib")
    assert result.verdict is Verdict.MALICIOUS
    assert result.findings[0].global_name == "subprocess.Popen"
    assert result.findings[0].offset == offset


def test_truncated_array_data_is_an_error() -> None:
    data = dump({"w": np.arange(1000.0)})
    result = scan_bytes(data[: len(data) // 2], "w.joblib")
    assert result.verdict is Verdict.ERROR
    assert result.error and "truncated" in result.error
