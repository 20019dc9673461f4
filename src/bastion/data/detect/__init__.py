"""Sensitive-data detection: ``detect(text)`` returns the values found, scored.

>>> from bastion.data.detect import detect
>>> [(f.type, f.start, f.end) for f in detect("Mail jane.doe@example.com today")]
[('EMAIL_ADDRESS', 5, 25)]
"""

from __future__ import annotations

from bastion.data.detect.base import ENTITY_TYPES, Finding, Recognizer
from bastion.data.detect.registry import (
    Detector,
    builtin_recognizers,
    default_detector,
    registered_recognizers,
    resolve_overlaps,
)

__all__ = [
    "ENTITY_TYPES",
    "Detector",
    "Finding",
    "Recognizer",
    "builtin_recognizers",
    "default_detector",
    "detect",
    "registered_recognizers",
    "resolve_overlaps",
]


def detect(text: str) -> list[Finding]:
    """Find sensitive values in ``text`` with every registered recognizer."""
    return default_detector().detect(text)
