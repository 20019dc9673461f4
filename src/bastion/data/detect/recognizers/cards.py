"""Payment card numbers: 13-19 digits, Luhn-valid, with a known issuer prefix (IIN).

Digits may be written in groups joined by single spaces or dashes (one kind per number).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bastion.data.detect.base import Finding
from bastion.data.detect.recognizers.context import context_distance, with_context

_CARD = re.compile(r"(?<![\w\-./+])\d(?:[ -]?\d){12,18}+(?![\w\-/]|\.\d)")
_GROUPS = re.compile(r"\d+")
_CONTEXT = re.compile(
    r"(?<![a-z])(?:card|cards|credit|debit|cc|ccn|pan|visa|mastercard|amex|american express"
    r"|discover|jcb|diners|maestro|payment|paid|charged?|cardholder)(?![a-z])",
    re.IGNORECASE,
)
_KNOWN = 0.9
_UNKNOWN_ISSUER = 0.3  # a label raises it to 0.6


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def issuer(digits: str) -> str | None:
    """The card network whose IIN range and length ``digits`` fit, if any."""
    n = len(digits)
    p2, p4, p6 = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if (p4 == 6011 or p2 == 65 or 644 <= p4 // 10 <= 649 or 622126 <= p6 <= 622925) and (
        16 <= n <= 19
    ):
        return "discover"
    if 3528 <= p4 <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (300 <= p4 // 10 <= 305 or p2 in (36, 38, 39) or p4 // 10 == 309) and 14 <= n <= 19:
        return "diners"
    if p2 == 62 and 16 <= n <= 19:
        return "unionpay"
    if p4 in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763) and 12 <= n <= 19:
        return "maestro"
    return None


def _plausible_grouping(lengths: list[int]) -> bool:
    """Card numbers are written in groups of 4 (Amex and Diners: 4-6-5 / 4-6-4)."""
    if len(lengths) == 1:
        return True
    if lengths in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


class CardRecognizer:
    """CREDIT_CARD."""

    name = "credit_card"
    entity_types = frozenset({"CREDIT_CARD"})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = r"\d(?:[ -]?\d){12}"

    def find(self, text: str) -> Iterator[Finding]:
        for m in _CARD.finditer(text):
            span = m.group()
            if " " in span and "-" in span:
                continue
            groups = _GROUPS.findall(span)
            lengths = [len(g) for g in groups]
            if not _plausible_grouping(lengths):
                continue
            digits = "".join(groups)
            if not luhn_valid(digits) or len(set(digits)) == 1:
                continue
            start, end = m.span()
            distance = context_distance(text, start, end, _CONTEXT, before=32)
            if issuer(digits) is None:
                base = _UNKNOWN_ISSUER
            elif len(groups) == 1 and len(digits) not in (15, 16):
                base = _UNKNOWN_ISSUER  # long bare runs (seeds, ids) are rarely 13/19-digit cards
            else:
                base = _KNOWN
            score = with_context(base, distance, 0.98 if base == _KNOWN else 0.6)
            yield Finding(start, end, "CREDIT_CARD", score, self.name)


RECOGNIZERS = (CardRecognizer(),)
