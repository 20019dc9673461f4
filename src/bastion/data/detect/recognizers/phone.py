"""Phone numbers: phone-shaped digit groups, validated with libphonenumber's metadata.

A candidate is a run of digit groups joined by single separators (space, dot, dash,
slash), optionally with a ``+`` country code and an area code in parentheses. Shapes
that belong to other things are rejected before any parsing: dates, IPv4-like dotted
quads, SSN-shaped ``3-2-4`` groups, card-length runs. The rest is parsed

* as an international number when written with ``+`` or ``00``;
* else in the conventions of national formats: NANP (10 digits, or 11 with the leading
  ``1``), and the trunk-prefix ``0`` numbering plans of Europe, India and Australia.

Written-out formats score on validity alone; a bare run of digits is too ambiguous
(order ids, epoch times) and needs a label such as ``phone`` or ``tel``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import phonenumbers

from bastion.data.detect.base import Finding
from bastion.data.detect.recognizers.context import WEAK, context_distance, with_context

_SEP = r"(?:[ ]?[.\-/][ ]?|[ ])"
_PAREN = r"\(\+?\d{1,5}\)"
_PHONE = re.compile(
    r"(?<![\w+\-./(])"
    r"\+?"
    rf"(?:{_PAREN}|\d{{1,15}})"
    rf"(?:{_SEP}\d{{1,15}}|{_SEP}?{_PAREN}|(?<=\))\d{{1,15}}){{0,8}}+"
    r"(?![\w\-/(]|\.\d)"
)
_GROUPS = re.compile(r"\d+")
_PAREN_LEAD = re.compile(r"(?:\+\d{1,3}|1)?[ .-]?")
_CONTEXT = re.compile(
    r"(?<![a-z])(?:phone|ph|tel|tele|telephone|telefon|telefono|téléphone|mobile|mob|cell"
    r"|cellphone|handy|portable|fax|call|called|calling|dial|ring|sms|text|whatsapp|contact"
    r"|reach|reachable|landline|hotline|msisdn)(?![a-z])",
    re.IGNORECASE,
)
# "my number is ..." says phone only when nothing else claims the value (a record number).
_WEAK_CONTEXT = re.compile(r"(?<![a-z])(?:number|num|no)(?![a-z])", re.IGNORECASE)
# Numbering plans written nationally with a trunk prefix 0 (Italy: a leading 0 that
# stays), by the length they are written in, most common plans first.
_TRUNK_ZERO_REGIONS: dict[int, tuple[str, ...]] = {
    9: ("DE", "BE", "CH", "AT", "IT", "IE", "GB"),
    10: ("FR", "GB", "DE", "NL", "BE", "CH", "AU", "IT", "AT", "IE", "IN"),
    11: ("GB", "IN", "DE", "IT", "AT", "IE"),
    12: ("DE", "AT", "IT"),
    13: ("DE", "AT"),
}
_VALID = 0.8
_INTERNATIONAL = 0.9


def _date_like(groups: list[str]) -> bool:
    """``2024-06-16``, ``16.06.2024``, ``06/16/24`` and alike."""
    if len(groups) != 3:
        return False
    a, b, c = (int(g) for g in groups)
    la, lb, lc = (len(g) for g in groups)
    if la == 4 and lb <= 2 and lc <= 2:
        return 1 <= b <= 12 and 1 <= c <= 31
    if la <= 2 and lb <= 2 and lc in (2, 4):
        return 1 <= a <= 31 and 1 <= b <= 31 and (a <= 12 or b <= 12)
    return False


def _boundaries(lengths: list[int]) -> set[int]:
    cuts: set[int] = set()
    total = 0
    for n in lengths[:-1]:
        total += n
        cuts.add(total)
    return cuts


def _grouping_ok(
    lengths: list[int], parsed: phonenumbers.PhoneNumber, digits: str, spaced: bool
) -> bool:
    """Whether the written digit groups fit the national format of ``parsed``.

    libphonenumber's *strict grouping*: groups of the canonical format may be merged but not
    split differently (``650 253 0000`` and ``650 2530000``, not ``65 02 53 00 00``). Two
    national habits are allowed besides: a single subscriber block split by spaces once
    the area code stands apart (German ``030 1234 5678``), and Indian mobile numbers
    written 5 + 5. Part numbers such as ``0723-6372-463`` fit no plan's grouping.
    """
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    canonical = [len(g) for g in _GROUPS.findall(national)]
    if sum(canonical) != len(digits):
        return True  # written with digits the format leaves out; nothing to compare
    cuts, expected = _boundaries(lengths), _boundaries(canonical)
    if cuts <= expected:
        return True
    if len(canonical) == 2 and spaced:
        # An area code and one subscriber block: the area code or the network prefix
        # apart, the rest split at will (``030 1234 5678``, ``0151 23456789``).
        return 3 <= min(cuts) <= canonical[0]
    # Indian mobile numbers are written 5 + 5 (``98765 43210``, ``098765 43210``).
    return parsed.country_code == 91 and cuts == {len(digits) - 5}


def _parse(number: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None


def _national_regions(digits: str, lengths: list[int], paren: bool) -> tuple[str, ...]:
    """Regions whose national format could have produced ``digits`` written in ``lengths``."""
    n = len(digits)
    if digits[0] == "0":
        return _TRUNK_ZERO_REGIONS.get(n, ())
    if n == 10 and digits[0] in "6789" and lengths in ([5, 5], [10], [3, 3, 4]) and not paren:
        return ("IN", "US") if lengths == [5, 5] else ("US", "IN")
    if n == 10 and lengths in ([3, 3, 4], [10], [3, 7]):
        return ("US",)
    return ()


def _national_number(digits: str, region: str) -> phonenumbers.PhoneNumber:
    """``digits`` as written nationally in ``region`` (without parsing: it is slow)."""
    code = phonenumbers.country_code_for_region(region)
    if region == "IT":  # Italian numbers keep their leading 0 internationally
        return phonenumbers.PhoneNumber(
            country_code=code, national_number=int(digits), italian_leading_zero=True
        )
    if digits[0] == "0":  # the trunk prefix
        return phonenumbers.PhoneNumber(country_code=code, national_number=int(digits[1:]))
    return phonenumbers.PhoneNumber(country_code=code, national_number=int(digits))


@lru_cache(maxsize=4096)
def _national_check(
    digits: str, lengths: tuple[int, ...], spaced: bool, paren: bool
) -> tuple[bool, bool]:
    """``(valid, possible)``: valid in a region whose format fits the written groups."""
    possible = False
    for region in _national_regions(digits, list(lengths), paren):
        number = _national_number(digits, region)
        if phonenumbers.is_valid_number(number):
            if _grouping_ok(list(lengths), number, digits, spaced):
                return True, True
            possible = True
        elif not possible:
            possible = phonenumbers.is_possible_number(number)
    return False, possible


def _distance(text: str, start: int, end: int) -> int | None:
    return context_distance(text, start, end, _CONTEXT, before=32)


class PhoneRecognizer:
    """PHONE_NUMBER."""

    name = "phone"
    entity_types = frozenset({"PHONE_NUMBER"})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = r"\d(?:\D{0,6}\d){6}"

    def find(self, text: str) -> Iterator[Finding]:
        for m in _PHONE.finditer(text):
            if m.end() - m.start() < 7:
                continue
            span = m.group()
            groups = _GROUPS.findall(span)
            digits = "".join(groups)
            n = len(digits)
            if n < 7 or n > 17:
                continue
            finding = self._judge(text, m.start(), m.end(), span, groups, digits)
            if finding is not None:
                yield finding

    def _judge(
        self, text: str, start: int, end: int, span: str, groups: list[str], digits: str
    ) -> Finding | None:
        punct = {c for c in span if c in ".-/"}
        if len(punct) > 1:
            return None
        paren = "(" in span
        if paren and not _PAREN_LEAD.fullmatch(span[: span.index("(")]):
            return None  # parentheses open a number or follow its country code only
        dotted = "." in punct
        if dotted and (len(groups) == 4 or len(groups) < 3):
            return None  # IPv4 addresses, four-part versions, decimal numbers
        body = span.split(" ", 1)[1] if span.startswith("+") and " " in span else span
        if dotted and " " in body:
            return None  # dots and spaces mixed (after a country code): columns of numbers
        plus = span.startswith(("+", "(+"))
        if plus or (digits.startswith("00") and not paren):
            number = span if plus else "+" + digits[2:]
            if len(digits) - (0 if plus else 2) > 15:
                return None
            parsed = _parse(number, None)
            if parsed is None or not phonenumbers.is_possible_number(parsed):
                return None
            valid = phonenumbers.is_valid_number(parsed)
            distance = _distance(text, start, end)
            if valid:
                score = with_context(_INTERNATIONAL, distance, 0.97)
            else:
                score = with_context(WEAK, distance, 0.85)
                weak = context_distance(text, start, end, _WEAK_CONTEXT, before=24)
                score = with_context(score, weak, 0.6)
            return Finding(start, end, "PHONE_NUMBER", score, self.name)
        if len(digits) > 13 or _date_like(groups):
            return None
        lengths = [len(g) for g in groups]
        if not paren and len(groups) == 3 and lengths == [3, 2, 4]:
            return None  # SSN-shaped
        if digits[0] == "1" and len(digits) == 11:
            if lengths[0] != 1 and len(groups) > 1:
                return None
            digits, lengths = digits[1:], (lengths[1:] or [10])  # NANP trunk prefix 1
        valid, possible = _national_check(digits, tuple(lengths), not punct, paren)
        if not possible:
            return None
        bare = len(groups) == 1
        distance = _distance(text, start, end)
        if valid and not bare:
            score = with_context(_VALID, distance, 0.95)
        elif valid:
            score = with_context(WEAK, distance, 0.9)
        else:
            score = with_context(WEAK, distance, 0.7)
        if distance is None and (bare or not valid):
            weak = context_distance(text, start, end, _WEAK_CONTEXT, before=24)
            score = with_context(score, weak, 0.6 if valid else 0.5)
        return Finding(start, end, "PHONE_NUMBER", score, self.name)


RECOGNIZERS = (PhoneRecognizer(),)
