"""Medical record numbers: hospital-assigned patient ids.

Their formats are local (``70669074``, ``2019-1411903``, ``B49920514``, ``123-45-67``),
so a candidate needs a label (``MRN``, ``medical record``, ``chart #``, ``patient id``,
``hospital number``); ``MRN1234567``, label and number glued, speaks for itself.
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

_GLUED = re.compile(r"(?<![\w\-./+])MRN[-#:]?\d{5,12}(?![\w\-/]|\.\d)", re.IGNORECASE)
_CANDIDATE = re.compile(
    r"(?<![\w\-./+])(?:[A-Za-z]{1,3}-?)?\d{2,12}+(?:-\d{2,8}+){0,3}+(?![\w\-/]|\.\d)"
)
_CONTEXT = re.compile(
    r"(?<![a-z])(?:mrn|mr[\s_.-]*(?:no|nr|num|number|#)|medical[\s_-]*records?"
    r"(?:[\s_-]*(?:no|nr|num|number|id|#))?|med[\s_.-]*rec(?:ord)?|charts?(?:[\s_-]*(?:no|num"
    r"|number|id|#))?|patient[\s_-]*(?:id|no|nr|num|number|#|identifier)|hospital[\s_-]*"
    r"(?:id|no|nr|num|number|#)|records?[\s_-]*(?:no|nr|num|number|#)|health[\s_-]*record"
    r"(?:[\s_-]*(?:no|number|id))?|unit[\s_-]*(?:no|number)|emr|ehr)(?![a-z])",
    re.IGNORECASE,
)
_KEYWORDS = (
    "mr", "med", "chart", "patient", "hospital", "record", "health", "unit", "emr", "ehr",
)  # fmt: skip
_DATE_LIKE = re.compile(r"\d{4}-\d\d-\d\d|\d\d-\d\d-\d{4}")
_GLUED_SCORE = 0.95


class MedicalRecordRecognizer:
    """MEDICAL_RECORD_NUMBER."""

    name = "medical_record_number"
    entity_types = frozenset({"MEDICAL_RECORD_NUMBER"})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = r"\d\d"

    def find(self, text: str) -> Iterator[Finding]:
        if not mentions(text, _KEYWORDS):
            return
        for m in _GLUED.finditer(text):
            yield Finding(m.start(), m.end(), "MEDICAL_RECORD_NUMBER", _GLUED_SCORE, self.name)
        for m in _CANDIDATE.finditer(text):
            if m.end() - m.start() < 5:
                continue
            value = m.group()
            digits = sum(c.isdigit() for c in value)
            if not 5 <= digits <= 14 or _DATE_LIKE.fullmatch(value):
                continue
            if value[:3].upper() == "MRN":
                continue  # the glued form, above
            start, end = m.span()
            distance = context_distance(text, start, end, _CONTEXT)
            if distance is not None:
                score = with_context(0.0, distance)
                yield Finding(start, end, "MEDICAL_RECORD_NUMBER", score, self.name)


RECOGNIZERS = (MedicalRecordRecognizer(),)
