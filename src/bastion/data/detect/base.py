"""The data contract between detectors and everything that acts on their findings.

A recognizer reads text and returns :class:`Finding` objects; scanning, classification
and sanitization depend on this type only, never on a particular recognizer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# The entity types Bastion's built-in recognizers find. Plugins may add others.
ENTITY_TYPES: tuple[str, ...] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "DATE_OF_BIRTH",
    "STREET_ADDRESS",
    "US_PASSPORT",
    "MEDICAL_RECORD_NUMBER",
    "API_SECRET",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One sensitive value: ``text[start:end]`` is of ``type``.

    ``score`` is the recognizer's confidence in [0, 1]; ``recognizer`` names who found it.
    """

    start: int
    end: int
    type: str
    score: float
    recognizer: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"bad span {self.start}:{self.end}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} outside [0, 1]")

    def __len__(self) -> int:
        return self.end - self.start


@runtime_checkable
class Recognizer(Protocol):
    """Finds one or more entity types in text.

    ``find`` must not raise on any ``str`` and must run in time linear in its length
    (no regular expression with catastrophic backtracking).

    A recognizer may also declare ``prefilter: str | None``, a regular expression in
    Rust's dialect that every value it finds matches (a necessary condition): the dataset
    scanner tests it on whole columns in Polars and shows the recognizer only the cells
    that match. Without one, every non-empty cell is a candidate.
    """

    name: str
    entity_types: frozenset[str]

    def find(self, text: str) -> Iterable[Finding]:
        """Every candidate in ``text``, scored; overlaps are resolved by the caller."""
        ...
