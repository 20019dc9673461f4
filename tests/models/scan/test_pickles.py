"""Crafted pickles, protocols 0 to 5: imports, memo indirection, nesting and injection.

Every malicious stream is assembled opcode by opcode (tests.models.scan.crafted); the
benign ones come from ``pickle.dumps`` of plain data, NumPy arrays and scikit-learn
estimators (dumping runs nothing; nothing here loads a pickle).
"""

from __future__ import annotations

import collections
import pickle
import pickletools
import struct

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from bastion.models.scan import ScanResult, Severity, Verdict, scan_bytes
from tests.models.scan import crafted
from tests.models.scan.crafted import PROTOCOLS

DANGEROUS = [("os", "system"), ("builtins", "eval"), ("__builtin__", "eval"), ("posix", "system")]


def only(result: ScanResult, severity: Severity) -> list[str | None]:
    """The global names of the findings at this severity."""
    return [f.global_name for f in result.findings if f.severity is severity]


def assert_walkable(data: bytes) -> None:
    """The crafted stream is a well-formed pickle (checked with the disassembler only)."""
    ops = [op.name for op, _, _ in pickletools.genops(data)]
    assert ops[-1] == "STOP"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("module", "name"), DANGEROUS)
@pytest.mark.parametrize("how", ["global", "stack_global"])
def test_dangerous_import_is_critical_at_its_opcode(
    protocol: int, module: str, name: str, how: str
) -> None:
    data, offset = crafted.callable_call(
        protocol, module, name, crafted.HARMLESS.format(protocol), how=how
    )
    assert_walkable(data)
    assert data[offset] == (ord("c") if how == "global" else 0x93)
    result = scan_bytes(data, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    assert result.error is None
    top = result.findings[0]
    assert top.severity is Severity.CRITICAL
    assert top.scanner == "pickle"
    assert top.global_name == f"{module}.{name}"
    assert top.offset == offset
    assert top.member is None
    assert f"{module}.{name}" in top.detail
    assert result.format == "pickle"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stack_global_through_the_memo_resolves_the_name(protocol: int) -> None:
    data, offset = crafted.memo_stack_global(protocol, "os", "system")
    assert_walkable(data)
    assert data[offset] == 0x93
    result = scan_bytes(data, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    assert only(result, Severity.CRITICAL) == ["os.system"]
    assert result.findings[0].offset == offset


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_stack_global_of_a_load_time_value_is_critical(protocol: int) -> None:
    data, offset = crafted.computed_stack_global(protocol)
    assert_walkable(data)
    result = scan_bytes(data, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    critical = [f for f in result.findings if f.severity is Severity.CRITICAL]
    assert len(critical) == 1
    assert "computed at load time" in critical[0].detail
    assert critical[0].offset == offset
    assert critical[0].global_name is None
    # Calling what that import produced is a finding of its own.
    assert any("produced at load time" in f.detail for f in result.findings)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unknown_global_is_medium_and_suspicious(protocol: int) -> None:
    body = crafted.global_op("mypkg.helpers", "Thing") + crafted.EMPTY_TUPLE + crafted.REDUCE
    data, start = crafted.framed(protocol, body)
    assert_walkable(data)
    result = scan_bytes(data, "model.pkl")
    assert result.verdict is Verdict.SUSPICIOUS
    assert [(f.severity, f.global_name, f.offset) for f in result.findings] == [
        (Severity.MEDIUM, "mypkg.helpers.Thing", start)
    ]
    assert "allow-list" in result.findings[0].detail


@pytest.mark.parametrize(
    ("module", "name", "severity"),
    [
        # Protocol 4 resolves dotted names through attributes: sklearn.base -> os -> system.
        ("sklearn.base", "os.system", Severity.HIGH),
        ("sklearn.linear_model", "LogisticRegression.__reduce_ex__", Severity.HIGH),
        ("collections", "OrderedDict.fromkeys", Severity.HIGH),
        ("builtins", "getattr", Severity.CRITICAL),
        ("sklearn.externals", "Thing", Severity.MEDIUM),  # outside the trusted class pattern
    ],
)
def test_dotted_and_gadget_names_are_flagged(module: str, name: str, severity: Severity) -> None:
    data, offset = crafted.callable_call(4, module, name, "true", how="stack_global")
    result = scan_bytes(data, "model.pkl")
    assert result.flagged
    top = result.findings[0]
    assert (top.severity, top.global_name, top.offset) == (severity, f"{module}.{name}", offset)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("collections", "OrderedDict"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "dtype"),
        ("sklearn.linear_model._logistic", "LogisticRegression"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("builtins", "set"),
    ],
)
@pytest.mark.parametrize("how", ["global", "stack_global"])
def test_allow_listed_globals_are_clean(module: str, name: str, how: str) -> None:
    data, _ = crafted.callable_call(4, module, name, "x", how=how)
    result = scan_bytes(data, "model.pkl")
    assert result.verdict is Verdict.CLEAN, result
    assert result.findings == ()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "value",
    [
        {"weights": [1.5, 2.5], "name": "model", "n": 3, "ok": True, "none": None},
        collections.OrderedDict(a=1, b=(1, 2)),
        [b"raw bytes", bytearray(b"buf"), {1, 2}, frozenset({3}), 1 << 70, -1.5, "\u00e9"],
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array(["a", "bc"]),
        {"rng": np.random.RandomState(0), "dtype": np.dtype("int16"), "scalar": np.float64(2.0)},
        np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False]),
    ],
    ids=["dict", "ordereddict", "mixed", "ndarray", "unicode-array", "numpy-objects", "masked"],
)
def test_benign_dumps_are_clean(protocol: int, value: object) -> None:
    result = scan_bytes(pickle.dumps(value, protocol=protocol), "data.pkl")
    assert result.verdict is Verdict.CLEAN, result
    assert result.findings == ()


def _estimators() -> list[object]:
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]] * 3)
    y = np.array([0, 1, 1, 0] * 3)
    return [
        LogisticRegression().fit(x, y),
        DecisionTreeClassifier(random_state=0).fit(x, y),
        make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
    ]


ESTIMATORS = _estimators()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_sklearn_estimator_clean_then_malicious_once_injected(
    protocol: int, estimator: object
) -> None:
    benign = pickle.dumps(estimator, protocol=protocol)
    result = scan_bytes(benign, "model.pkl")
    assert result.verdict is Verdict.CLEAN, result

    payload = crafted.global_op("os", "system") + crafted.call(
        [crafted.text(crafted.HARMLESS.format(100 + protocol), protocol)]
    )
    injected, offset = crafted.inject(benign, payload)
    assert_walkable(injected)
    result = scan_bytes(injected, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    assert [(f.global_name, f.offset) for f in result.findings] == [("os.system", offset)]


@pytest.mark.parametrize("via", ["short", "long"])
def test_pickle_nested_in_bytes_is_scanned_with_absolute_offsets(via: str) -> None:
    inner, inner_offset = crafted.system_call(4, crafted.HARMLESS.format(200))
    if via == "short":
        constant = b"C" + bytes([len(inner)]) + inner  # SHORT_BINBYTES
    else:
        constant = b"\x8e" + struct.pack("<Q", len(inner)) + inner  # BINBYTES8
    outer = crafted.proto(4) + constant + crafted.STOP
    assert_walkable(outer)
    result = scan_bytes(outer, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    finding = result.findings[0]
    assert finding.global_name == "os.system"
    assert finding.offset == outer.index(inner) + inner_offset
    assert outer[finding.offset] == ord("c")


def test_nested_pickle_in_binbytes_under_a_call() -> None:
    inner, _ = crafted.system_call(3, crafted.HARMLESS.format(201))
    # pickle.loads(b"...") spelled as an allow-listed call so that only the nesting flags it.
    outer = (
        crafted.proto(3)
        + crafted.global_op("builtins", "bytes")
        + crafted.call([crafted.binbytes(inner)])
        + crafted.STOP
    )
    result = scan_bytes(outer, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    assert only(result, Severity.CRITICAL) == ["os.system"]
    assert outer[result.findings[0].offset] == ord("c")


def test_codecs_encoded_bytes_carrying_a_pickle_are_scanned() -> None:
    inner, _ = crafted.system_call(2, crafted.HARMLESS.format(202))
    outer = crafted.codecs_encoded(inner)
    assert_walkable(outer)
    # What protocol 2 writes for bytes is this very call; the crafted one has the same shape.
    real = [op.name for op, _, _ in pickletools.genops(pickle.dumps(b"abc", protocol=2))]
    ours = [op.name for op, _, _ in pickletools.genops(outer)]
    assert [o for o in real if "PUT" not in o] == [o for o in ours if "PUT" not in o]
    result = scan_bytes(outer, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    assert "os.system" in only(result, Severity.CRITICAL)


def test_codecs_encoded_benign_bytes_are_clean() -> None:
    result = scan_bytes(pickle.dumps({"blob": b"\x80\x02junk" * 4}, protocol=2), "x.pkl")
    assert result.verdict is Verdict.CLEAN


@pytest.mark.parametrize("opcode", [b"\x82\x01", b"\x83\x01\x00", b"\x84\x01\x00\x00\x00"])
def test_extension_registry_import_is_high(opcode: bytes) -> None:
    data = b"\x80\x02" + opcode + crafted.STOP
    assert_walkable(data)
    result = scan_bytes(data, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    assert [(f.severity, f.offset) for f in result.findings] == [(Severity.HIGH, 2)]
    assert "extension registry" in result.findings[0].detail


def test_build_on_a_dangerous_global_is_reported_at_the_import() -> None:
    # BUILD puts state on what GLOBAL imported; the import itself is the finding.
    body = (
        crafted.global_op("argparse", "Namespace")
        + crafted.EMPTY_TUPLE
        + crafted.REDUCE
        + b"}"
        + crafted.text("__setstate__", 2)
        + crafted.global_op("posix", "system")
        + b"sb"
    )
    data, _ = crafted.framed(2, body)
    result = scan_bytes(data, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    assert only(result, Severity.CRITICAL) == ["posix.system"]
    assert only(result, Severity.MEDIUM) == ["argparse.Namespace"]


def test_several_pickles_in_a_row_are_all_walked() -> None:
    benign = pickle.dumps([1, 2, 3], protocol=4)
    evil, offset = crafted.system_call(4, crafted.HARMLESS.format(203))
    result = scan_bytes(benign + evil, "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    assert result.findings[0].offset == len(benign) + offset


def test_trailing_non_pickle_bytes_end_the_walk() -> None:
    result = scan_bytes(pickle.dumps({"a": 1}, protocol=4) + b"\x00" * 64, "model.pkl")
    assert result.verdict is Verdict.CLEAN


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\x04\x8c\x02os", "truncated"),
        (b"\x80\x04N", "STOP"),
        (b"\x80\x04\xff.", "malformed"),
        (b"\x80\x040.", "underflow"),
        (b"\x80\x04h\x07.", "memo"),
        (b"\x80\x04t.", "MARK"),
    ],
)
def test_malformed_pickles_are_errors_not_clean(data: bytes, reason: str) -> None:
    result = scan_bytes(data, "model.pkl")
    assert result.verdict is Verdict.ERROR
    assert result.error and reason in result.error


def test_truncated_pickle_keeps_what_it_already_found() -> None:
    data, _ = crafted.system_call(4, crafted.HARMLESS.format(204))
    result = scan_bytes(data[:-3], "model.pkl")
    assert result.verdict is Verdict.MALICIOUS
    assert result.error and "truncated" in result.error
    assert only(result, Severity.CRITICAL) == ["os.system"]


@pytest.mark.parametrize("protocol", [0, 1])
def test_headerless_protocols_are_recognised_by_name(protocol: int) -> None:
    data, _ = crafted.system_call(protocol, "true")
    for name in ("weights.bin", "model.pkl", "model.pt", "model.ckpt", "MODEL.PKL"):
        result = scan_bytes(data, name)
        assert result.verdict is Verdict.MALICIOUS, name
        assert result.format == "pickle"


def test_invalid_string_escape_is_analysed_not_raised() -> None:
    # pickletools warns on invalid escapes; the scan must neither warn nor fail.
    data = b"\x80\x02S'\\q'\n" + crafted.global_op("o\\s", "system") + b"0."
    result = scan_bytes(data, "model.pkl")
    assert result.verdict in (Verdict.SUSPICIOUS, Verdict.MALICIOUS)
    assert result.findings[0].global_name == "o\\s.system"


def test_findings_are_ordered_worst_first_then_by_offset() -> None:
    body = (
        crafted.global_op("mypkg", "A")
        + crafted.POP
        + crafted.global_op("os", "system")
        + crafted.POP
        + crafted.global_op("mypkg", "B")
        + crafted.POP
        + crafted.global_op("builtins", "exec")
        + crafted.POP
    )
    data, _ = crafted.framed(4, body)
    result = scan_bytes(data, "model.pkl")
    assert [f.global_name for f in result.findings] == [
        "os.system",
        "builtins.exec",
        "mypkg.A",
        "mypkg.B",
    ]


@pytest.mark.parametrize(
    "prefix",
    [
        crafted.EMPTY_TUPLE + crafted.POP,  # ")0": text-like, once passed as clean text
        b"C\x01a" + crafted.POP,  # SHORT_BINBYTES without a PROTO header
        b"Pid\n" + crafted.POP,  # PERSID (torch's persistent_load accepts it)
        b"\x88" + crafted.POP,  # NEWTRUE
        b"\x8c\x01a" + crafted.POP,  # SHORT_BINUNICODE
    ],
)
def test_headerless_pickles_starting_with_any_pushing_opcode_are_pickles(prefix: bytes) -> None:
    payload = crafted.global_op("os", "system") + crafted.call([b"S'true'\n"]) + crafted.STOP
    data = prefix + payload
    assert_walkable(data)
    result = scan_bytes(data, "model.pkl")
    assert result.format == "pickle"
    assert result.verdict is Verdict.MALICIOUS
    assert result.findings[0].offset == len(prefix)


@pytest.mark.parametrize("header", [b"", b"\x80\x02"])
def test_a_second_pickle_after_a_benign_one_is_analysed(header: bytes) -> None:
    # Legacy torch.load calls pickle.load several times: a trailing pickle runs too.
    benign = pickle.dumps({"weights": [1.0, 2.0]}, protocol=2)
    payload = header + b"cposix\nsystem\n(S'true'\ntR."
    result = scan_bytes(benign + payload, "model.pt")
    assert result.verdict is Verdict.MALICIOUS
    assert result.findings[0].global_name == "posix.system"
    assert result.findings[0].offset == len(benign) + len(header)


def test_trailing_bytes_that_are_not_a_pickle_are_data() -> None:
    benign = pickle.dumps([1, 2, 3], protocol=2)
    # Raw storage bytes after the pickle (as legacy torch writes them): no findings.
    result = scan_bytes(benign + bytes(range(256)) * 4, "legacy.pt")
    assert (result.verdict, result.findings) == (Verdict.CLEAN, ())
