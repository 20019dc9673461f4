"""US passport numbers: nine digits, or a letter and eight digits (Next Generation
passports), only where a label says ``passport``: the shape alone is any nine-digit id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bastion.data.detect.base import Finding
from bastion.data.detect.recognizers.context import (
    context_distance,
    mentions,
    with_context,
)

_PASSPORT = re.compile(r"(?<![\w\-./+])(?:[A-Za-z]\d{8}|\d{9})(?![\w\-/]|\.\d)")
_CONTEXT = re.compile(
    r"(?<![a-z])(?:passports?|pass(?:port)?[\s_.-]*(?:no|nr|num|number|#)|ppt|pp[\s_.-]*no"
    r"|travel[\s_-]*document|reisepass|passeport|pasaporte|passaporto)(?![a-z])",
    re.IGNORECASE,
)

_KEYWORDS = ("pass", "pp", "travel", "pasaporte")


class PassportRecognizer:
    """US_PASSPORT."""

    name = "us_passport"
    entity_types = frozenset({"US_PASSPORT"})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = r"\d{8}"

    def find(self, text: str) -> Iterator[Finding]:
        if not mentions(text, _KEYWORDS):
            return
        for m in _PASSPORT.finditer(text):
            start, end = m.span()
            distance = context_distance(text, start, end, _CONTEXT)
            if distance is not None:
                yield Finding(start, end, "US_PASSPORT", with_context(0.0, distance), self.name)


RECOGNIZERS = (PassportRecognizer(),)
