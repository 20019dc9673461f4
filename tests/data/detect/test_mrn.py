"""MEDICAL_RECORD_NUMBER: local formats, with a medical-record label (or glued ``MRN``)."""

from __future__ import annotations

import pytest

from bastion.data.detect.recognizers.mrn import RECOGNIZERS
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patient Ana (MRN 70669074), stable", ["70669074"]),
        ("MRN: 2019-1411903", ["2019-1411903"]),
        ("medical record number B49920514.", ["B49920514"]),
        ("chart #864-35-88. Lab", ["864-35-88"]),
        ("patient id: 0012345678", ["0012345678"]),
        ("hospital number H3231607", ["H3231607"]),
        ("record no. 5865746690", ["5865746690"]),
        ("see MRN1234567 today", ["MRN1234567"]),
        ("name,mrn\nAna,16728502\n", ["16728502"]),
    ],
)
def test_record_numbers(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 70669074",  # no label
        "MRN: 1234",  # too short
        "MRN: 2024-01-07",  # a date
        "pid=12345678 started",
        "MRN 70669074".replace("MRN", "SKU"),
        "name,order_id\nAna,16728502\n",
    ],
)
def test_not_record_numbers(text: str) -> None:
    assert found(text) == []
