"""PHONE_NUMBER: phone-shaped digit groups validated by libphonenumber's metadata."""

from __future__ import annotations

import pytest

from bastion.data.detect.recognizers.phone import RECOGNIZERS
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # international, with + or 00
        ("Call +1 (415) 555-2671 now", ["+1 (415) 555-2671"]),
        ("ring +1-305-362-9678.", ["+1-305-362-9678"]),
        ("UK: +44 20 7946 0958", ["+44 20 7946 0958"]),
        ("UK: +44 (0)20 7946 0958", ["+44 (0)20 7946 0958"]),
        ("from abroad 0044 20 7946 0958", ["0044 20 7946 0958"]),
        ("Paris +33 1 42 68 53 00", ["+33 1 42 68 53 00"]),
        ("Berlin +49 30 901820", ["+49 30 901820"]),
        ("Mumbai +91 98765 43210", ["+91 98765 43210"]),
        ("whatsapp +919876543210", ["+919876543210"]),
        ("Berlin (+49) 30 901820", ["(+49) 30 901820"]),
        # national formats
        ("office (415) 555-2671", ["(415) 555-2671"]),
        ("office 415-555-2671", ["415-555-2671"]),
        ("office 415.555.2671", ["415.555.2671"]),
        ("office 1 (415) 555-2671", ["1 (415) 555-2671"]),
        ("London 020 7946 0958", ["020 7946 0958"]),
        ("mobile 07700 900123", ["07700 900123"]),
        ("Lyon 04 72 10 30 30", ["04 72 10 30 30"]),
        ("Lyon 04.72.10.30.30", ["04.72.10.30.30"]),
        ("Berlin 030 12345678", ["030 12345678"]),
        ("Munich 089/1234567", ["089/1234567"]),
        ("mobil 0151 23456789", ["0151 23456789"]),
        ("Delhi 98765 43210", ["98765 43210"]),
        # bare digits need a label
        ("phone=4155552671", ["4155552671"]),
        ("tel: 02079460958", ["02079460958"]),
        ("name,phone\nAna,4155552671\n", ["4155552671"]),
    ],
)
def test_phone_numbers(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 4155552671 shipped",  # bare digits, no label
        "at 2024-06-16 10:15:30",  # date and time
        "on 16.06.2024 and 06/16/2024",
        "epoch 1718329091 and 1718329091123",
        "SSN 123-45-6789",
        "host 192.168.10.120",
        "version 2.24.8486.2873",
        "card 4111 1111 1111 1111",
        "order 841-7172031-9879004",
        "ORD-2023-342110 and INV-99117",
        "part 0723-6372-463",  # dashes where no numbering plan puts them
        "tracking 4570387496339666480578",
        "call 12345",
        "ip 10:15:30",
        "ratio 0.826993343 and 0.14285714",
        "table 206.768 2830",
    ],
)
def test_not_phone_numbers(text: str) -> None:
    assert found(text) == []
