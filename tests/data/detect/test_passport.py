"""US_PASSPORT: nine digits or a letter and eight digits, with a passport label."""

from __future__ import annotations

import pytest

from bastion.data.detect.recognizers.passport import RECOGNIZERS
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Passport number: 123456789", ["123456789"]),
        ("passport no. X12345678.", ["X12345678"]),
        ('"passport_no": "A98765432"', ["A98765432"]),
        ("travel document 987654321", ["987654321"]),
        ("name,passport_no\nAna,C03005988\n", ["C03005988"]),
    ],
)
def test_passports(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 123456789",  # no label
        "passport: 12345678",  # eight digits
        "passport: 1234567890",  # ten
        "passport: AB1234567",  # two letters
        "passport: X1234567-1",
        "passport 123456789 order 987654321".replace("123456789", "pending"),
        "name,order_id\nAna,123456789\n",
    ],
)
def test_not_passports(text: str) -> None:
    assert found(text) == []
