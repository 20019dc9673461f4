"""Sanitization with Bastion's real detector: no detected value survives, under any action."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.data.detect import ENTITY_TYPES, detect
from bastion.data.sanitize import Sanitizer, policy_from_dict
from tests.data.sanitize.conftest import FixedKey

VALUES = st.sampled_from(
    [
        "SSN 123-45-6789",
        "card 4111 1111 1111 1111",
        "mail jane.doe@example.org",
        "from 203.0.113.45",
        "IBAN DE89 3704 0044 0532 0130 00",
        "born on 1984-03-07",
        "call +44 20 7946 0958",
        "Dear Margaret Okonkwo,",
        "key AKIAIOSFODNN7EXAMPLE",
    ]
)
FILLER = st.sampled_from(
    ["", "Thanks.", "see ticket 4411", "ok", "The report is attached.", "(urgent)", "\n"]
)
ACTIONS = ["redact", "mask", "hash", "pseudonymize", "generalize"]


class Tokens:
    def __init__(self) -> None:
        self.made: dict[tuple[str, str], str] = {}

    def tokenize(self, entity_type: str, value: str) -> str:
        n = len(self.made)
        return self.made.setdefault((entity_type, value), f"<tok:{entity_type}:{'AB' * 7}{n:02d}>")


@pytest.mark.parametrize("action", [*ACTIONS, "tokenize"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.tuples(FILLER, VALUES), min_size=1, max_size=5))
def test_no_detected_value_survives(action: str, parts: list[tuple[str, str]]) -> None:
    rule = {"action": "mask", "keep_last": 2} if action == "mask" else action
    policy = policy_from_dict({"default": rule}, known_types=frozenset(ENTITY_TYPES))
    sanitizer = Sanitizer(policy, detect, key=FixedKey(), tokens=Tokens())
    text = " ".join(f"{filler} {value}." for filler, value in parts)
    assert detect(text), text  # something was planted
    once = sanitizer.text(text)
    assert detect(once) == [], (text, once)
    assert sanitizer.text(once) == once
