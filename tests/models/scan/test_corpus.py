"""The labelled DEV corpus: every malicious file flagged, every benign file clean.

The scanner sees only bytes and file names; the labels are used here to score it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bastion.models.scan import ScanResult, Severity, Verdict, scan_paths
from tests.models.scan.conftest import CORPUS, corpus_labels

LABELS = corpus_labels()
MALICIOUS = sorted(name for name, label in LABELS.items() if label["malicious"])
BENIGN = sorted(name for name, label in LABELS.items() if not label["malicious"])
# Formats whose malicious content is a pickle stream: findings carry a byte offset.
PICKLE_FORMATS = {"pickle", "pickle_injected", "joblib", "torch_zip", "npy"}
IMPORT_OPCODES = {ord(c) for c in "c\x93i"}  # GLOBAL, STACK_GLOBAL, INST
CALL_OPCODES = {ord(c) for c in "R\x81\x92ob"}  # REDUCE, NEWOBJ(_EX), OBJ, BUILD
EXT_OPCODES = {0x82, 0x83, 0x84}


@pytest.fixture(scope="module")
def results() -> dict[str, ScanResult]:
    """One scan of the whole corpus folder, by file name."""
    return {Path(r.path).name: r for r in scan_paths([CORPUS])}


def test_corpus_is_the_fixed_one() -> None:
    assert len(MALICIOUS) == 63 and len(BENIGN) == 40
    for name, label in LABELS.items():
        digest = hashlib.sha256((CORPUS / name).read_bytes()).hexdigest()
        assert digest == label["sha256"], name


def test_every_file_is_scanned_once(results: dict[str, ScanResult]) -> None:
    assert set(results) == set(LABELS) | {"labels.json"}
    assert results["labels.json"].verdict is Verdict.CLEAN


@pytest.mark.parametrize("name", MALICIOUS)
def test_malicious_file_is_flagged(results: dict[str, ScanResult], name: str) -> None:
    label = LABELS[name]
    result = results[name]
    assert result.verdict in (Verdict.MALICIOUS, Verdict.SUSPICIOUS), result
    assert result.error is None
    assert result.findings
    for finding in result.findings:
        assert isinstance(finding.severity, Severity)
        assert finding.scanner and finding.detail
    worst = result.findings[0]
    assert worst.severity == max(f.severity for f in result.findings)
    data = (CORPUS / name).read_bytes()
    if label["format"] in PICKLE_FORMATS:
        for finding in result.findings:
            assert isinstance(finding.offset, int), finding
        pickle_findings = [f for f in result.findings if f.scanner == "pickle"]
        assert pickle_findings, result
        for finding in pickle_findings:
            # The offset is in the file itself, archive members included, and it points
            # at the opcode that imports or calls.
            assert isinstance(finding.offset, int)
            assert 0 <= finding.offset < len(data)
            assert data[finding.offset] in IMPORT_OPCODES | CALL_OPCODES | EXT_OPCODES
        named = [f for f in pickle_findings if f.global_name]
        assert named, result
        for finding in named:
            if data[finding.offset] in IMPORT_OPCODES - {ord("\x93")}:
                # GLOBAL/INST spell the name right after the opcode.
                module = finding.global_name.split(".")[0]
                assert data[finding.offset + 1 :].startswith(module.encode())
    if label["format"] == "torch_zip":
        assert worst.member is not None and worst.member.endswith("/data.pkl")
        assert result.format == "torch_zip"
    if label["format"] == "npy":
        assert result.format == "npy_object"
    if label["format"] == "keras":
        assert worst.severity is Severity.CRITICAL
        assert worst.member == "config.json"
        assert worst.global_name == "keras.layers.Lambda"


@pytest.mark.parametrize("name", BENIGN)
def test_benign_file_is_clean(results: dict[str, ScanResult], name: str) -> None:
    result = results[name]
    assert result.verdict is Verdict.CLEAN, result
    assert result.findings == ()
    assert result.error is None
    assert result.sha256 == LABELS[name]["sha256"]
    assert result.size == (CORPUS / name).stat().st_size


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("pickle", {"pickle"}),
        ("pickle_injected", {"pickle"}),
        ("joblib", {"joblib"}),
        ("torch_zip", {"torch_zip"}),
        ("npy", {"npy", "npy_object"}),
        ("npz", {"npz"}),
        ("keras", {"keras"}),
        ("onnx", {"onnx"}),
        ("safetensors", {"safetensors"}),
    ],
)
def test_detected_format_matches_the_label(
    results: dict[str, ScanResult], fmt: str, expected: set[str]
) -> None:
    names = [n for n, label in LABELS.items() if label["format"] == fmt]
    assert names
    for name in names:
        assert results[name].format in expected, (name, results[name].format)


def test_every_malicious_torch_zip_names_its_pickle_member(
    results: dict[str, ScanResult],
) -> None:
    torch = [n for n in MALICIOUS if LABELS[n]["format"] == "torch_zip"]
    assert len(torch) >= 5
    for name in torch:
        members = {f.member for f in results[name].findings if f.scanner == "pickle"}
        assert members == {"archive/data.pkl"}, (name, members)


def test_globals_of_known_techniques_are_named(results: dict[str, ScanResult]) -> None:
    expected = {
        "mal_001_os_system_pickle_p0.pkl": "os.system",
        "mal_004_posix_system_pickle_p2.pkl": "posix.system",
        "mal_008_subprocess_Popen_pickle_p3.pkl": "subprocess.Popen",
        "mal_013_builtins_eval_pickle_p0.pkl": "__builtin__.eval",
        "mal_044_stack_global_memo_indirection_pickle_p4.pkl": "posix.system",
        "mal_046_stack_global_memo_indirection_torch_zip.pt": "posix.system",
        "mal_053_torch_utils_collect_env_run_torch_zip.pt": "torch.utils.collect_env.run",
    }
    for name, dotted in expected.items():
        criticals = {
            f.global_name for f in results[name].findings if f.severity is Severity.CRITICAL
        }
        assert dotted in criticals, (name, criticals)
