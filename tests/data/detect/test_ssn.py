"""US_SSN: SSA validity rules; the unseparated form needs a label."""

from __future__ import annotations

import pytest

from bastion.data.detect.recognizers.ssn import RECOGNIZERS, ssa_valid
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN: 123-45-6789", ["123-45-6789"]),
        ("on file 078-05-1121.", ["078-05-1121"]),
        ("member 899-99-9999 ok", ["899-99-9999"]),
        ("social security number 123 45 6789", ["123 45 6789"]),
        ('"ssn": "219099999"', ["219099999"]),
        ("SSN 001010001", ["001010001"]),
        ("name,ssn,city\nAna,123456789,Lyon\n", ["123456789"]),
    ],
)
def test_valid_ssns(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "SSN 000-12-3456",  # area 000
        "SSN 666-12-3456",  # area 666
        "SSN 912-34-5678",  # area 9xx
        "SSN 123-00-4567",  # group 00
        "SSN 123-45-0000",  # serial 0000
        "SSN 123-45 6789",  # mixed separators
        "SSN 123 45-6789",
        "order 123456789 shipped",  # no label
        "version 1.123-45-6789",
        "id 1123-45-6789",
        "phone 123-456-7890",
    ],
)
def test_invalid_or_unlabelled(text: str) -> None:
    assert found(text) == []


def test_a_label_names_the_nearest_value_only() -> None:
    assert found("ssn=123-45-6789 order=987654321") == ["123-45-6789"]
    assert found('{"ssn": "n/a", "order_id": "987654321"}') == []


def test_ssa_rules() -> None:
    assert ssa_valid("001", "01", "0001")
    assert ssa_valid("899", "99", "9999")
    assert not ssa_valid("000", "01", "0001")
    assert not ssa_valid("666", "01", "0001")
    assert not ssa_valid("900", "01", "0001")
    assert not ssa_valid("123", "00", "0001")
    assert not ssa_valid("123", "01", "0000")
