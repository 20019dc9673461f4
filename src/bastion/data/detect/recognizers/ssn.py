"""US Social Security numbers, valid under the SSA's assignment rules.

Area 001-899 except 666, group 01-99, serial 0001-9999. ``123-45-6789`` is the SSN's own
shape; ``123 45 6789`` less so; a bare ``123456789`` is just as likely an order id or a
passport number and needs a label (``SSN``, ``social security``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bastion.data.detect.base import Finding
from bastion.data.detect.recognizers.context import WEAK, context_distance, with_context

# The same separator between the three groups (the back-reference); mixed ones are not
# an SSN.
_SSN = re.compile(r"(?<![\w\-./+])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\w\-/]|\.\d)")
_CONTEXT = re.compile(
    r"(?<![a-z])(?:ssn|ssns|ss#|ss no|soc\.? ?sec\.?|social[\s_-]*security(?:[\s_-]*(?:number|no))?"
    r"|taxpayer[\s_-]*id|tin|itin)(?![a-z])",
    re.IGNORECASE,
)
_DASHED = 0.85
_SPACED = 0.6


def ssa_valid(area: str, group: str, serial: str) -> bool:
    """Whether the three parts of an SSN could have been issued."""
    return area != "000" and area != "666" and area[0] != "9" and group != "00" and serial != "0000"


class SsnRecognizer:
    """US_SSN."""

    name = "us_ssn"
    entity_types = frozenset({"US_SSN"})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = r"\d{3}[- ]?\d{2}[- ]?\d{4}"

    def find(self, text: str) -> Iterator[Finding]:
        for m in _SSN.finditer(text):
            area, sep, group, serial = m.groups()
            if not ssa_valid(area, group, serial):
                continue
            if len(set(area + group + serial)) == 1:
                continue  # 111-11-1111 and alike are placeholders
            start, end = m.span()
            distance = context_distance(text, start, end, _CONTEXT)
            base = _DASHED if sep == "-" else _SPACED if sep else WEAK
            score = with_context(base, distance, 0.97 if sep else 0.92)
            yield Finding(start, end, "US_SSN", score, self.name)


RECOGNIZERS = (SsnRecognizer(),)
