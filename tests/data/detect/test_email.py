"""EMAIL_ADDRESS: practical RFC 5322 addresses; role mailboxes and file names are not PII."""

from __future__ import annotations

import pytest

from bastion.data.detect.recognizers.email import RECOGNIZERS
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail jane.doe@example.com today", ["jane.doe@example.com"]),
        ("From: Ana <ana_lima+news@mail.univ-lyon.fr>", ["ana_lima+news@mail.univ-lyon.fr"]),
        ("user=thomas.k@hotmail.co.uk logged in", ["thomas.k@hotmail.co.uk"]),
        ("write to o'brien@example.ie.", ["o'brien@example.ie"]),
        ("mailto:bob@example.org, then", ["bob@example.org"]),
        ('"email": "Renée.Müller@web.de"', ["Renée.Müller@web.de"]),
        ("two: a1@x.io;b2@y.dev", ["a1@x.io", "b2@y.dev"]),
    ],
)
def test_addresses_found_with_exact_spans(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "no address here",
        "icon logo@2x.png in the theme",
        "decorator @property and user@localhost",
        "a@b.c is too short a TLD",
        "trailing dot .jane@example",
        "double dots jane..doe@example.com",
        "numeric TLD jane@example.123",
        "From: noreply@example.com and support@example.com",
    ],
)
def test_not_addresses(text: str) -> None:
    assert found(text) == []
