"""A small real detector for sanitization tests: regular expressions, no learned model.

Sanitization depends only on the ``Finding`` contract; these tests pin its behaviour
without depending on how well the built-in recognizers do.
"""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from bastion.data.detect.base import Finding
from bastion.identity import credentials

PATTERNS = {
    "US_SSN": re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"),
    "EMAIL_ADDRESS": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    "IP_ADDRESS": re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"),
    "DATE_OF_BIRTH": re.compile(r"(?<=born )\d{4}-\d{2}-\d{2}"),
    "PERSON": re.compile(r"\b(?:Alice Smith|Bob Jones)\b"),
}
TYPES = frozenset(PATTERNS)


def regex_detect(text: str) -> list[Finding]:
    """Every match of every pattern, in order (no overlaps among these patterns)."""
    found = [
        Finding(m.start(), m.end(), kind, 0.9, "test-regex")
        for kind, pattern in PATTERNS.items()
        for m in pattern.finditer(text)
    ]
    return sorted(found, key=lambda f: f.start)


class FixedKey:
    """An HMAC key held in memory (the keyring implements the same method)."""

    def __init__(self, key: bytes = b"k" * 32) -> None:
        self.key = key

    def pseudonymize(self, data: bytes) -> bytes:
        import hashlib
        import hmac

        return hmac.new(self.key, data, hashlib.sha256).digest()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at minimum cost for the workspace's users (passwords are not under test)."""
    monkeypatch.setattr(
        credentials, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
