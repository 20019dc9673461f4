"""DATE_OF_BIRTH: calendar dates in plausible birth years, only with a birth label."""

from __future__ import annotations

import pytest

from bastion.data.detect.recognizers.dob import RECOGNIZERS
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DOB: 1984-03-07", ["1984-03-07"]),
        ("date of birth 03/07/1984.", ["03/07/1984"]),
        ("born 31/12/1999", ["31/12/1999"]),
        ("geb. 07.03.1984 in Köln", ["07.03.1984"]),
        ("D.O.B.: 3/7/84", ["3/7/84"]),
        ("born March 7, 1984 in Ohio", ["March 7, 1984"]),
        ("born on 7 March 1984", ["7 March 1984"]),
        ("born on the 7th of March 1984", ["7th of March 1984"]),
        ("birthday: Sept. 21, 1990", ["Sept. 21, 1990"]),
        ("DOB 07-Mar-1984", ["07-Mar-1984"]),
        ("geboren am 7. März 1984", ["7. März 1984"]),
        ("née le 7 mars 1984", ["7 mars 1984"]),
        ('{"date_of_birth": "1970-01-30"}', ["1970-01-30"]),
        ("name,dob,city\nAna,1970-01-30,Lyon\n", ["1970-01-30"]),
        ("1984-03-07 (date of birth)", ["1984-03-07"]),
        ("Ana: and dob?\nBen: 09/08/1984", ["09/08/1984"]),
    ],
)
def test_birth_dates(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "visit on 2024-01-02",  # no label
        "invoice dated March 7, 1984",
        "born 1850-01-01",  # implausible year
        "born 2999-01-01",
        "DOB: 1984-02-30",  # no such day
        "DOB: 13/13/1984",
        "born 1984-03-07T10:15:30Z",  # a timestamp
        "DOB 1984-03-07 12:00",
        "name,dob,created_at\nAna,n/a,2024-01-02\n",  # the column is not the date's
        '{"app_version": "11.10.26", "birth_date": "n/a"}',  # label of the next key
        "born 1.2.1984.5",
    ],
)
def test_not_birth_dates(text: str) -> None:
    assert found(text) == []


def test_the_label_belongs_to_the_nearest_date() -> None:
    assert found("born 06.05.1941. Admitted 2019-12-27") == ["06.05.1941"]


def test_unicode_case_folding_does_not_break_month_lookup() -> None:
    assert found("born 7 \u017fept 1984") == ["7 \u017fept 1984"]
