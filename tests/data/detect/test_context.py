"""The shared context helpers: labels before and after a value, and table headers."""

from __future__ import annotations

import re

from bastion.data.detect.recognizers.context import (
    WEAK,
    context_after,
    context_before,
    context_distance,
    has_context,
    mentions,
    table_cell,
    with_context,
)

SSN = re.compile(r"(?<![a-z])ssn(?![a-z])", re.IGNORECASE)


def span(text: str, value: str) -> tuple[int, int]:
    start = text.index(value)
    return start, start + len(value)


def test_windows_are_lowercased() -> None:
    text = "My SSN: 123"
    assert context_before(text, 8, 6) == " ssn: "
    assert context_after("123 (SSN) x", 3, 6) == " (ssn)"


def test_label_before_the_value() -> None:
    text = "SSN: 123456789"
    assert context_distance(text, *span(text, "123456789"), SSN) == 2
    assert has_context(text, *span(text, "123456789"), SSN)


def test_label_out_of_the_window() -> None:
    text = "SSN" + " " * 60 + "123456789"
    assert context_distance(text, *span(text, "123456789"), SSN) is None
    assert context_distance(text, *span(text, "123456789"), SSN, before=80) is not None


def test_another_value_or_label_in_between() -> None:
    for text in (
        "ssn 123-45-6789 and 123456789",
        "ssn=n/a order_id=123456789",
        '"ssn": "n/a", "order": "123456789"',
        "SSN pending; Order: 123456789",
        "ssn pending, order 123456789",
    ):
        assert context_distance(text, *span(text, "123456789"), SSN) is None, text


def test_label_after_the_value() -> None:
    text = "123456789 (SSN)"
    assert context_distance(text, *span(text, "123456789"), SSN) is None
    assert context_distance(text, *span(text, "123456789"), SSN, after=10) == 2
    # a label followed by its own value is not ours
    text = '"x": "123456789", "ssn": "n/a"'
    assert context_distance(text, *span(text, "123456789"), SSN, after=20) is None


def test_table_header_labels_its_column() -> None:
    text = "name,ssn,order_id\nAna,123456789,987654321\n"
    assert table_cell(text, text.index("123456789")) == ("ssn", text.index("123456789"))
    assert context_distance(text, *span(text, "123456789"), SSN) == 0
    assert context_distance(text, *span(text, "987654321"), SSN) is None


def test_table_with_quotes_and_unquoted_delimiters() -> None:
    text = (
        "name,address,created_at,ssn\n"
        'Ana,"1 Main St, Apt 2\nSpringfield",2024-01-02 10:11:12,345,123456789\n'
        "Smith, John,n/a,2024-01-02,987654321\n"
    )
    for value in ("123456789", "987654321"):
        cell = table_cell(text, text.index(value))
        assert cell is not None
        assert cell[0] == "ssn"


def test_prose_is_not_a_table() -> None:
    text = "Hi team, see below\nAna, 123456789\n"
    assert table_cell(text, text.index("123456789")) is None
    assert table_cell("no table here", 3) is None


def test_mentions_and_scores() -> None:
    assert mentions("Patient DOB: x", ("dob",))
    assert not mentions("nothing", ("dob", "born"))
    assert with_context(WEAK, None) == WEAK
    assert with_context(WEAK, 0) == 0.9
    assert WEAK < with_context(WEAK, 40) < with_context(WEAK, 2)
