"""IBANs (ISO 13616): the registered length of their country and the mod-97 check.

Written compact (``DE89370400440532013000``) or in groups of four separated by single
spaces (``DE89 3704 0044 0532 0130 00``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bastion.data.detect.base import Finding

# IBAN lengths from the SWIFT IBAN registry (ISO 13616).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip

# Country code, check digits, then up to 30 more characters with optional single spaces;
# greedy without anything after it, so it never backtracks. The registered length is
# applied afterwards.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}")
_SCORE = 0.97


def mod97_valid(iban: str) -> bool:
    """ISO 7064 MOD 97-10 over the rearranged IBAN (letters as 10..35)."""
    moved = iban[4:] + iban[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in moved))
    except ValueError:
        return False
    return number % 97 == 1


class IbanRecognizer:
    """IBAN_CODE."""

    name = "iban"
    entity_types = frozenset({"IBAN_CODE"})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10}"

    def find(self, text: str) -> Iterator[Finding]:
        for m in _IBAN.finditer(text):
            span = m.group()
            length = IBAN_LENGTHS.get(span[:2])
            if length is None:
                continue
            end = _end_of(span, length)
            if end is None:
                continue
            stop = m.start() + end
            if stop < len(text) and text[stop].isalnum():
                continue  # part of a longer token
            compact = span[:end].replace(" ", "")
            if mod97_valid(compact):
                yield Finding(m.start(), stop, "IBAN_CODE", _SCORE, self.name)


def _end_of(span: str, length: int) -> int | None:
    """Offset in ``span`` after ``length`` IBAN characters, spaces only between fours."""
    count = 0
    for i, ch in enumerate(span):
        if ch == " ":
            if count % 4:
                return None
            continue
        count += 1
        if count == length:
            return i + 1
    return None


RECOGNIZERS = (IbanRecognizer(),)
