"""Hostile bytes never crash the scanner, and a scan always ends.

``scan_bytes`` must return a ScanResult for any input: random bytes behind every format's
magic, every corpus file cut short or with one byte changed. Hypothesis runs
deterministically (``derandomize``) and without an example database.
"""

from __future__ import annotations

import pickle
import random
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.models.scan import Engine, ScanLimits, ScanResult, Verdict
from tests.models.scan import crafted
from tests.models.scan.conftest import CORPUS, corpus_labels

CORPUS_FILES = sorted(corpus_labels())
LIMITS = ScanLimits(seconds_per_file=5.0)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CORPUS_BYTES = {name: (CORPUS / name).read_bytes() for name in CORPUS_FILES}

MAGICS = [
    b"",
    b"\x80\x02",
    b"\x80\x04",
    b"\x80\x05\x95",
    b"PK\x03\x04",
    b"\x93NUMPY\x01\x00",
    b"\x93NUMPY\x03\x00",
    b"\x89HDF\r\n\x1a\n",
    b"\x1f\x8b\x08",
    b"BZh9",
    b"\xfd7zXZ\x00",
    b"\x5d\x00\x00",
    b"ZF",
    b"\x78\x9c",
    b"(",
    b"c",
    b"}",
]
NAMES = ["blob.dat", "m.pkl", "m.joblib", "m.pt", "m.onnx", "m.safetensors", "m.npy", "m.json"]
OPCODE_ALPHABET = b"(.0st)]}NIJKLSVXFGTUcdeaihgpq\x80\x93\x94\x95\x8c\x85\x86\x87\x81\x82RbB\n '"


def check(result: ScanResult) -> None:
    """What every result must satisfy, whatever the input."""
    assert isinstance(result, ScanResult)
    assert result.verdict in set(Verdict)
    if result.verdict is Verdict.ERROR:
        assert isinstance(result.error, str) and result.error.strip()
    if result.error is None:
        assert result.verdict is not Verdict.ERROR
    for finding in result.findings:
        assert finding.detail and finding.scanner
        assert finding.offset is None or finding.offset >= 0


def safetensors_like(length: int) -> bytes:
    return struct.pack("<Q", length) + b"{"


@FUZZ
@given(
    magic=st.sampled_from(MAGICS) | st.integers(0, 300).map(safetensors_like),
    body=st.binary(max_size=300),
    name=st.sampled_from(NAMES),
)
def test_random_bytes_behind_any_magic(magic: bytes, body: bytes, name: str) -> None:
    data = magic + body
    if not data:
        return
    check(Engine(limits=LIMITS).scan_bytes(data, name))


@FUZZ
@given(
    head=st.sampled_from([b"", b"\x80\x02", b"\x80\x04"]),
    ops=st.lists(st.sampled_from(list(OPCODE_ALPHABET)), max_size=120).map(bytes),
    name=st.sampled_from(["m.pkl", "m.joblib", "m.bin"]),
)
def test_random_opcode_soup(head: bytes, ops: bytes, name: str) -> None:
    data = head + ops
    if data:
        check(Engine(limits=LIMITS).scan_bytes(data, name))


@settings(FUZZ, max_examples=300)
@given(name=st.sampled_from(CORPUS_FILES), data=st.data())
def test_corpus_file_cut_or_changed(name: str, data: st.DataObject) -> None:
    original = CORPUS_BYTES[name]
    cut = data.draw(st.integers(1, len(original) - 1), label="cut")
    check(Engine(limits=LIMITS).scan_bytes(original[:cut], name))
    at = data.draw(st.integers(0, len(original) - 1), label="at")
    value = data.draw(st.integers(0, 255).filter(lambda v: v != original[at]), label="value")
    mutated = original[:at] + bytes([value]) + original[at + 1 :]
    check(Engine(limits=LIMITS).scan_bytes(mutated, name))


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_each_corpus_file_cut_and_changed(name: str) -> None:
    # Every file gets its own seeded cut points and mutations (hypothesis above samples
    # across the corpus; this makes sure no file is left out).
    original = CORPUS_BYTES[name]
    rng = random.Random(name)
    engine = Engine(limits=LIMITS)
    for _ in range(8):
        cut = rng.randrange(1, len(original))
        result = engine.scan_bytes(original[:cut], name)
        check(result)
        if name.endswith((".pkl", ".joblib", ".npy")):
            # A cut pickle or array has no clean verdict (a trailing-data cut aside).
            assert result.verdict is not Verdict.CLEAN or b"." in original[cut - 1 : cut]
        mutated = bytearray(original)
        mutated[rng.randrange(len(original))] ^= rng.randrange(1, 256)
        check(engine.scan_bytes(bytes(mutated), name))


# Structural offsets where a single changed byte hits zipfile's feature checks.
ZIP_HEADER_FIELDS = [4, 5, 6, 7, 8, 9, 26, 27, 28]


@pytest.mark.parametrize(
    "name", [n for n in CORPUS_FILES if n.endswith((".pt", ".pth", ".npz", ".keras"))]
)
def test_zip_header_fields_changed(name: str) -> None:
    original = (CORPUS / name).read_bytes()
    central = original.index(b"PK\x01\x02")
    engine = Engine(limits=LIMITS)
    for base, fields in ((0, ZIP_HEADER_FIELDS), (central, [4, 5, 6, 7, 8, 9, 10, 11])):
        for field in fields:
            for value in (0x00, 0x07, 0x41, 0x63, 0xFF):
                mutated = bytearray(original)
                mutated[base + field] = value
                check(engine.scan_bytes(bytes(mutated), name))


SMALL = {
    "p0": crafted.system_call(0, "true")[0],
    "p2-memo": crafted.memo_stack_global(2, "os", "system")[0],
    "p4-memo": crafted.memo_stack_global(4, "os", "system")[0],
    "p5-benign": pickle.dumps({"a": [1, 2.5, "x"], "b": np.arange(3)}, protocol=5),
    "npy-object": crafted.npy_object(crafted.system_call(3, "true")[0]),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_every_truncation_of_small_files(name: str) -> None:
    data = SMALL[name]
    engine = Engine(limits=LIMITS)
    for cut in range(1, len(data)):
        result = engine.scan_bytes(data[:cut], f"{name}.pkl")
        check(result)
        assert result.verdict is not Verdict.CLEAN, (cut, result)  # truncated: never clean


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x80\x04" + b"N0" * 5_000_000 + b".", "long.pkl"),
        (b"\x80\x04" + b"(" * 2_000_000 + b".", "marks.pkl"),
        (b"\x80\x04" + b"]" + b"N\x94a" * 1_000_000 + b".", "list.pkl"),
    ],
    ids=["ten-million-opcodes", "two-million-marks", "million-appends"],
)
def test_huge_pickles_stop_at_the_deadline(data: bytes, name: str) -> None:
    limits = ScanLimits(seconds_per_file=0.5)
    started = time.monotonic()
    result = Engine(limits=limits).scan_bytes(data, name)
    elapsed = time.monotonic() - started
    check(result)
    assert result.verdict in (Verdict.ERROR, Verdict.CLEAN)
    if result.verdict is Verdict.ERROR:
        assert result.error and "time limit" in result.error
    assert elapsed < 10.0  # a hang check, not a benchmark


def test_deeply_nested_structures_do_not_escape() -> None:
    engine = Engine(limits=LIMITS)
    for data, name in [
        (b"\x80\x04" + b"]" * 200_000 + b".", "deep.pkl"),
        (crafted.npy_header("{'descr': " + "[" * 5000 + "]" * 5000 + "}"), "deep.npy"),
        (b'{"class_name": ' * 3000, "deep.h5"),
        (crafted.safetensors_file("[" * 100_000 + "]" * 100_000, b""), "deep.safetensors"),
        (b"\x89HDF\r\n\x1a\n" + b'{"class_name": "A", "config": [' * 2000, "deep2.h5"),
    ]:
        check(engine.scan_bytes(data, name))


def test_corpus_scanned_from_disk_never_raises(tmp_path: Path) -> None:
    # scan_file maps the file: archives and pickles read the mmap without copying it.
    engine = Engine(limits=LIMITS)
    for name in CORPUS_FILES[::7]:
        original = (CORPUS / name).read_bytes()
        path = tmp_path / name
        path.write_bytes(original[: len(original) * 2 // 3])
        check(engine.scan_file(path))
