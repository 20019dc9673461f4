"""Zip-based formats (PyTorch, .npz, plain zip) and compressed streams."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import struct
import zipfile

import numpy as np
import pytest

from bastion.models.scan import ScanLimits, Severity, Verdict, scan_bytes
from tests.models.scan import crafted

BENIGN_PICKLE = pickle.dumps({"w": [1.0, 2.0]}, protocol=4)
# torch.save pads each member's local header with an "FB" extra field so data is aligned.
TORCH_EXTRA = struct.pack("<HH", 0x4246, 24) + b"Z" * 24


def torch_zip(data_pkl: bytes, *, extra: bytes = TORCH_EXTRA) -> bytes:
    """A zip laid out like ``torch.save``: data.pkl, raw storages, version."""
    return crafted.zip_of(
        [
            ("archive/data.pkl", data_pkl),
            # Raw tensor bytes are data, even when they read like a malicious pickle.
            ("archive/data/0", crafted.system_call(4, "true")[0] + b"\x00" * 32),
            ("archive/version", b"3\n"),
            ("archive/byteorder", b"little"),
        ],
        extra=extra,
    )


@pytest.mark.parametrize(
    "name",
    ["../../evil.pkl", "/abs.pkl", "..\\..\\evil.pkl", "C:/evil.pkl", "ok/../../evil.pkl"],
)
def test_member_escaping_the_folder_is_path_traversal(name: str) -> None:
    data = crafted.zip_of([("fine.txt", b"hello"), (name, BENIGN_PICKLE)])
    result = scan_bytes(data, "bundle.zip")
    assert result.verdict is Verdict.MALICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.HIGH
    assert "path traversal" in finding.detail
    assert finding.member == name
    assert data[finding.offset : finding.offset + 4] == b"PK\x03\x04"


def test_plain_member_names_are_fine() -> None:
    data = crafted.zip_of([("a/b/c.pkl", BENIGN_PICKLE), ("..hidden.pkl", BENIGN_PICKLE)])
    result = scan_bytes(data, "bundle.zip")
    assert result.verdict is Verdict.CLEAN, result
    assert result.format == "zip"


def test_zip_bomb_member_is_high_and_not_inflated() -> None:
    data = crafted.zip_of([("weights.bin", bytes(50 << 20))], compression=zipfile.ZIP_DEFLATED)
    assert len(data) < 200_000
    result = scan_bytes(data, "bomb.zip")
    assert result.verdict is Verdict.MALICIOUS
    (finding,) = result.findings
    assert finding.severity is Severity.HIGH
    assert "zip bomb" in finding.detail
    assert finding.member == "weights.bin"


def test_total_uncompressed_size_over_the_limit_is_a_bomb() -> None:
    data = crafted.zip_of([(f"part{i}.bin", bytes(4096)) for i in range(4)])
    result = scan_bytes(data, "parts.zip", limits=ScanLimits(max_total_uncompressed=10_000))
    assert result.verdict is Verdict.MALICIOUS
    assert any("zip bomb" in f.detail and f.member is None for f in result.findings)


def test_member_larger_than_the_member_limit_is_an_error() -> None:
    data = crafted.zip_of([("big.pkl", BENIGN_PICKLE + bytes(5000))])
    result = scan_bytes(data, "big.zip", limits=ScanLimits(max_member_bytes=1000))
    assert result.verdict is Verdict.ERROR
    assert result.error and "big.pkl" in result.error


@pytest.mark.parametrize("extra", [TORCH_EXTRA, b""], ids=["aligned", "unaligned"])
def test_torch_zip_with_a_malicious_data_pkl(extra: bytes) -> None:
    payload, inner_offset = crafted.system_call(2, crafted.HARMLESS.format(400))
    data = torch_zip(payload, extra=extra)
    result = scan_bytes(data, "model.pt")
    assert result.verdict is Verdict.MALICIOUS
    assert result.format == "torch_zip"
    (finding,) = result.findings
    assert finding.member == "archive/data.pkl"
    assert finding.global_name == "os.system"
    # A stored member's offset is absolute in the archive: it points at the opcode.
    assert data[finding.offset] == ord("c")
    assert finding.offset == data.index(payload) + inner_offset


def test_torch_zip_with_benign_data_pkl_is_clean() -> None:
    state = (
        crafted.proto(2)
        + crafted.global_op("collections", "OrderedDict")
        + crafted.EMPTY_TUPLE
        + crafted.REDUCE
        + crafted.STOP
    )
    result = scan_bytes(torch_zip(state), "model.pt")
    assert result.verdict is Verdict.CLEAN, result


def test_deflated_torch_member_offsets_are_inside_the_member() -> None:
    payload, inner_offset = crafted.system_call(4, crafted.HARMLESS.format(401))
    data = crafted.zip_of([("archive/data.pkl", payload)], compression=zipfile.ZIP_DEFLATED)
    (finding,) = scan_bytes(data, "model.pt").findings
    assert (finding.member, finding.offset) == ("archive/data.pkl", inner_offset)


def _npz(compressed: bool, **arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize("compressed", [False, True])
def test_numpy_savez_is_clean(compressed: bool) -> None:
    data = _npz(
        compressed,
        a=np.arange(10.0),
        b=np.zeros((2, 3), dtype=np.int8),
        c=np.array(["x", "yz"]),
        d=np.zeros(2, dtype=[("f", "<f4"), ("g", "<i2", (3,))]),
    )
    result = scan_bytes(data, "arrays.npz")
    assert result.verdict is Verdict.CLEAN, result
    assert result.format == "npz"


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_with_a_malicious_object_array(compression: int) -> None:
    payload, inner_offset = crafted.system_call(3, crafted.HARMLESS.format(402))
    member = crafted.npy_object(payload)
    weights = io.BytesIO()
    np.save(weights, np.arange(8.0))
    data = crafted.zip_of(
        [("weights.npy", weights.getvalue()), ("evil.npy", member)], compression=compression
    )
    result = scan_bytes(data, "arrays.npz")
    assert result.verdict is Verdict.MALICIOUS
    assert result.format == "npz"
    (finding,) = result.findings
    assert finding.member == "evil.npy"
    assert finding.global_name == "os.system"
    if compression == zipfile.ZIP_STORED:
        assert data[finding.offset] == ord("c")
    else:
        assert finding.offset == member.index(payload) + inner_offset


def test_zip_inside_a_zip_is_scanned() -> None:
    inner = torch_zip(crafted.system_call(4, crafted.HARMLESS.format(403))[0])
    outer = crafted.zip_of([("models/model.zip", inner)], compression=zipfile.ZIP_DEFLATED)
    result = scan_bytes(outer, "bundle.zip")
    assert result.verdict is Verdict.MALICIOUS
    assert result.findings[0].global_name == "os.system"


def test_duplicate_members_are_medium() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", BENIGN_PICKLE)
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("archive/data.pkl", BENIGN_PICKLE)
    result = scan_bytes(buffer.getvalue(), "model.pt")
    assert result.verdict is Verdict.SUSPICIOUS
    assert [f.severity for f in result.findings] == [Severity.MEDIUM]
    assert "duplicate member" in result.findings[0].detail


def test_encrypted_member_is_an_error() -> None:
    data = bytearray(crafted.zip_of([("a.pkl", BENIGN_PICKLE)]))
    data[6] |= 1  # local header flag: encrypted
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    result = scan_bytes(bytes(data), "a.zip")
    assert result.verdict is Verdict.ERROR
    assert result.error and "encrypted" in result.error


@pytest.mark.parametrize(
    ("where", "value", "reason"),
    [
        ("method", 99, "compression method"),  # zipfile raises NotImplementedError
        ("version", 99, "zip file version"),
    ],
)
def test_unsupported_zip_features_are_errors_not_crashes(
    where: str, value: int, reason: str
) -> None:
    data = bytearray(crafted.zip_of([("archive/data.pkl", BENIGN_PICKLE)]))
    central = data.index(b"PK\x01\x02")
    if where == "method":
        data[8] = value
        data[central + 10] = value
    else:
        data[central + 6] = value  # "version needed to extract"
    result = scan_bytes(bytes(data), "model.pt")
    assert result.verdict is Verdict.ERROR
    assert result.error and reason in result.error


def test_corrupt_lzma_member_is_an_error_not_a_crash() -> None:
    data = bytearray(crafted.zip_of([("a.pkl", BENIGN_PICKLE * 20)], compression=zipfile.ZIP_LZMA))
    start = 30 + len("a.pkl") + 4 + 5  # local header, name, lzma props header
    for i in range(start, start + 24):
        data[i] ^= 0x55
    result = scan_bytes(bytes(data), "a.zip")
    assert result.verdict is Verdict.ERROR
    assert result.error and "a.pkl" in result.error


def test_malformed_zip_is_an_error() -> None:
    result = scan_bytes(b"PK\x03\x04" + b"\x00" * 40, "broken.zip")
    assert result.verdict is Verdict.ERROR
    assert result.error and "zip" in result.error


COMPRESSORS = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
}


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_compressed_pickles_are_opened(kind: str) -> None:
    evil, offset = crafted.system_call(4, crafted.HARMLESS.format(404))
    result = scan_bytes(COMPRESSORS[kind](evil), "model.pkl.gz")
    assert result.verdict is Verdict.MALICIOUS
    assert result.format == f"{kind}+pickle"
    assert result.findings[0].offset == offset  # in the decompressed stream

    result = scan_bytes(COMPRESSORS[kind](BENIGN_PICKLE), "model.pkl.gz")
    assert (result.verdict, result.format) == (Verdict.CLEAN, f"{kind}+pickle")


def test_decompression_bomb_stops_at_the_member_limit() -> None:
    data = gzip.compress(bytes(2 << 20), mtime=0)
    result = scan_bytes(data, "model.pkl.gz", limits=ScanLimits(max_member_bytes=1 << 20))
    assert result.verdict is Verdict.ERROR
    assert result.error and "decompression bomb" in result.error


def test_corrupt_and_unsupported_streams_are_errors() -> None:
    corrupt = scan_bytes(b"\x1f\x8b" + b"\xff" * 30, "x.gz")
    assert corrupt.verdict is Verdict.ERROR and corrupt.error
    lz4 = scan_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 30, "x.lz4")
    assert lz4.verdict is Verdict.ERROR
    assert lz4.error and "lz4" in lz4.error


def test_nesting_past_the_depth_limit_is_reported() -> None:
    data, _ = crafted.system_call(4, crafted.HARMLESS.format(405))
    for _ in range(6):
        data = crafted.zip_of([("inner.zip" if data[:2] == b"PK" else "inner.pkl", data)])
    result = scan_bytes(data, "deep.zip")
    assert result.flagged
    assert any("nested deeper" in f.detail for f in result.findings)
