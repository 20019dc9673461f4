"""Each action's output, and that every action leaves its own output unchanged."""

from __future__ import annotations

import pytest

from bastion.data.sanitize import actions
from bastion.data.sanitize.policy import Rule
from tests.data.sanitize.conftest import FixedKey


class FakeTokens:
    def __init__(self) -> None:
        self.made: dict[tuple[str, str], str] = {}

    def tokenize(self, entity_type: str, value: str) -> str:
        return self.made.setdefault(
            (entity_type, value), f"<tok:{entity_type}:{'A' * 15}{len(self.made) + 2}>"
        )


@pytest.mark.parametrize(
    ("value", "keep", "expected"),
    [
        ("123-45-6789", 4, "***-**-6789"),
        ("4111 1111 1111 1111", 4, "**** **** **** 1111"),
        ("abc", 4, "abc"),
        ("jane@example.org", 0, "****@*******.***"),
    ],
)
def test_mask_keeps_separators_and_last_n(value: str, keep: int, expected: str) -> None:
    assert actions.mask(value, keep) == expected
    assert actions.mask(expected, keep) == expected


@pytest.mark.parametrize(
    ("value", "kind", "rule", "expected"),
    [
        ("10.1.2.3", "IP_ADDRESS", Rule("generalize"), "10.1.2.*"),
        ("10.1.2.3", "IP_ADDRESS", Rule("generalize", ipv4_prefix=16), "10.1.*"),
        ("2001:db8:85a3::8a2e:370:7334", "IP_ADDRESS", Rule("generalize"), "2001:db8:85a3:*"),
        ("jane@example.org", "EMAIL_ADDRESS", Rule("generalize"), "*@example.org"),
        ("March 7, 1984", "DATE_OF_BIRTH", Rule("generalize"), "1984"),
        ("1984-03-07", "DATE_OF_BIRTH", Rule("generalize"), "1984"),
        ("12 Main St, Springfield, IL 62704", "STREET_ADDRESS", Rule("generalize"), "627**"),
        ("Damrak 1, 1012 LG Amsterdam", "STREET_ADDRESS", Rule("generalize"), "10**"),
        ("221B Baker Street, London NW1 6XE", "STREET_ADDRESS", Rule("generalize"), "NW1 ***"),
        ("1600 Pennsylvania Avenue", "STREET_ADDRESS", Rule("generalize"), "[STREET_ADDRESS]"),
        ("not a date", "DATE_OF_BIRTH", Rule("generalize"), "[DATE_OF_BIRTH]"),
        ("+1 555 0100", "PHONE_NUMBER", Rule("generalize"), "[PHONE_NUMBER]"),
    ],
)
def test_generalize(value: str, kind: str, rule: Rule, expected: str) -> None:
    assert actions.generalize(value, kind, rule) == expected
    assert actions.is_sanitized(expected)


def test_pseudonyms_are_keyed_deterministic_and_typed() -> None:
    key = FixedKey()
    a = actions.pseudonymize("jane@example.org", "EMAIL_ADDRESS", key)
    assert a == actions.pseudonymize("jane@example.org", "EMAIL_ADDRESS", key)
    assert a.startswith("<EMAIL_ADDRESS#") and actions.is_sanitized(a)
    assert a != actions.pseudonymize("john@example.org", "EMAIL_ADDRESS", key)
    assert a != actions.pseudonymize("jane@example.org", "EMAIL_ADDRESS", FixedKey(b"x" * 32))
    assert a != actions.pseudonymize("jane@example.org", "PERSON", key)


def test_hash_is_unkeyed_sha256() -> None:
    import hashlib

    digest = hashlib.sha256(b"123-45-6789").hexdigest()[:32]
    assert actions.hash_value("123-45-6789") == f"sha256:{digest}"


@pytest.mark.parametrize(
    "rule",
    [
        Rule("redact"),
        Rule("mask", keep_last=2),
        Rule("hash"),
        Rule("pseudonymize"),
        Rule("tokenize"),
        Rule("generalize"),
        Rule("keep"),
    ],
)
@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("123-45-6789", "US_SSN"),
        ("10.20.30.40", "IP_ADDRESS"),
        ("jane@example.org", "EMAIL_ADDRESS"),
        ("1984-03-07", "DATE_OF_BIRTH"),
        ("Alice Smith", "PERSON"),
    ],
)
def test_every_action_is_idempotent(rule: Rule, value: str, kind: str) -> None:
    key, tokens = FixedKey(), FakeTokens()
    once = actions.apply(rule, value, kind, key=key, tokens=tokens)
    twice = actions.apply(rule, once, kind, key=key, tokens=tokens)
    assert twice == once
    if rule.action not in ("keep", "mask"):
        assert once != value and actions.is_sanitized(once)


def test_actions_that_need_keys_refuse_without_them() -> None:
    with pytest.raises(ValueError, match="key"):
        actions.apply(Rule("pseudonymize"), "x", "PERSON", key=None, tokens=None)
    with pytest.raises(ValueError, match="token"):
        actions.apply(Rule("tokenize"), "x", "PERSON", key=None, tokens=None)
