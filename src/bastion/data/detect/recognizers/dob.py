"""Dates of birth: a calendar date with a birth label next to it.

A date alone is a visit, an invoice or a log line; only ``born``, ``DOB``, ``date of
birth``, ``geb.``, ``née`` and alike (or a table column so named) make it a birth date.
Formats: ISO ``1984-03-07``, numeric day-month or month-day (``03/07/1984``,
``07.03.1984``, two-digit years too), and written months in English, German, French and
Spanish (``March 7, 1984``, ``7 March 1984``, ``7th of March 1984``, ``7. März 1984``).
Years run from 1900 to the current year.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from bastion.data.detect.base import Finding
from bastion.data.detect.recognizers.context import (
    context_distance,
    mentions,
    with_context,
)

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar jänner janvier enero ene",
        "february feb februar février fevrier febrero",
        "march mar märz maerz mars marzo",
        "april apr avril abril",
        "may mai mayo",
        "june jun juni juin junio",
        "july jul juli juillet julio",
        "august aug août aout agosto ago",
        "september sep sept septembre septiembre setiembre",
        "october oct oktober okt octobre octubre",
        "november nov novembre noviembre",
        "december dec dezember dez décembre decembre diciembre dic",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th|er|\.)?"
_DATE = re.compile(
    r"(?<![\w./:-])(?:"
    r"(?P<iy>\d{4})(?P<isep>[-/.])(?P<im>\d{1,2})(?P=isep)(?P<id>\d{1,2})"
    r"|(?P<na>\d{1,2})(?P<nsep>[-/.])(?P<nb>\d{1,2})(?P=nsep)(?P<ny>\d{4}|\d{2})"
    rf"|(?P<dd>\d{{1,2}}){_ORDINAL}(?:\s{{1,3}}of|\s{{1,3}}de)?[\s-]{{1,3}}(?P<dm>{_MONTH})\.?"
    r",?[\s-]{1,3}(?:de\s{1,3})?(?P<dy>\d{4})"
    rf"|(?P<mm>{_MONTH})\.?\s{{1,3}}(?P<md>\d{{1,2}}){_ORDINAL},?\s{{1,3}}(?P<my>\d{{4}})"
    r")(?![\w]|[./:-]\d)",
    re.IGNORECASE,
)
_CONTEXT = re.compile(
    r"(?<![a-z])(?:born|birth|births|birthday|birthdate|dateofbirth|b-?day|dob|d\.o\.b\.?"
    r"|geb\.?|geboren|geburtsdatum|geburtstag|née?|nee|naissance|nacid[oa]|nacimiento"
    r"|nato|nata|data di nascita)(?![a-z])",
    re.IGNORECASE,
)
# A date with a time of day is a timestamp, not a birth date.
_TIME_AFTER = re.compile(r"[T ]\d{1,2}:\d\d")
# Substrings of every _CONTEXT word, for the pre-check.
_KEYWORDS = (
    "born", "birth", "dob", "d.o.b", "geb", "née", "nee", "naissance", "nacid", "nacimiento",
    "nato", "nata", "nascita", "bday", "b-day",
)  # fmt: skip
_MIN_YEAR = 1900
_MAX_YEAR = date.today().year


def _valid(year: int, month: int, day: int) -> bool:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year <= _MAX_YEAR % 100 else 1900
    return year


def plausible_birth_date(m: re.Match[str]) -> bool:
    """Whether a ``_DATE`` match is a real calendar date in a plausible birth year."""
    g = m.group
    if g("iy"):
        return _valid(int(g("iy")), int(g("im")), int(g("id")))
    if g("ny"):
        a, b, y = int(g("na")), int(g("nb")), _year(g("ny"))
        return _valid(y, b, a) or _valid(y, a, b)
    if g("dy"):
        return _valid(int(g("dy")), _month(g("dm")), int(g("dd")))
    return _valid(int(g("my")), _month(g("mm")), int(g("md")))


def _month(name: str) -> int:
    # casefold: the pattern is case-insensitive in Unicode's sense (long s matches s)
    return _MONTHS.get(name.casefold(), 0)


class DateOfBirthRecognizer:
    """DATE_OF_BIRTH."""

    name = "date_of_birth"
    entity_types = frozenset({"DATE_OF_BIRTH"})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = r"\d{4}|\d[-/.]\d{1,2}[-/.]\d\d"

    def find(self, text: str) -> Iterator[Finding]:
        if not mentions(text, _KEYWORDS):
            return
        for m in _DATE.finditer(text):
            start, end = m.span()
            if not plausible_birth_date(m) or _TIME_AFTER.match(text, end):
                continue
            distance = context_distance(text, start, end, _CONTEXT, after=16)
            if distance is not None:
                yield Finding(start, end, "DATE_OF_BIRTH", with_context(0.0, distance), self.name)


RECOGNIZERS = (DateOfBirthRecognizer(),)
