"""Policy files: valid documents parse, every mistake is refused with its code."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.data.sanitize.policy import Rule, load_policy, policy_from_dict
from bastion.errors import InvalidInput
from tests.data.sanitize.conftest import TYPES


def test_full_policy_parses(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'version = 1\ndefault = "hash"\n'
        "[types]\n"
        'US_SSN = { action = "mask", keep_last = 2 }\n'
        'IP_ADDRESS = { action = "generalize", ipv4_prefix = 16 }\n'
        'PERSON = "tokenize"\n'
        "[columns]\n"
        'notes = "drop"\n'
    )
    policy = load_policy(path, known_types=TYPES)
    assert policy.default == Rule("hash")
    assert policy.for_type("US_SSN") == Rule("mask", keep_last=2)
    assert policy.for_type("EMAIL_ADDRESS") == Rule("hash")
    assert policy.for_type("IP_ADDRESS").ipv4_prefix == 16
    assert policy.columns["notes"].action == "drop"
    assert policy.describe()["types"]["US_SSN"] == {"action": "mask", "keep_last": 2}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"types": {"US_SSN": "shred"}}, "unknown action"),
        ({"types": {"US_SNN": "redact"}}, "no recognizer"),
        ({"types": {"US_SSN": "drop"}}, "columns only"),
        ({"types": {"US_SSN": {"action": "mask", "keep_first": 2}}}, "unknown option"),
        ({"types": {"US_SSN": {"action": "mask", "keep_last": -1}}}, "non-negative"),
        ({"types": {"US_SSN": {"action": "mask", "keep_last": True}}}, "non-negative"),
        ({"types": {"IP_ADDRESS": {"action": "generalize", "ipv4_prefix": 40}}}, "out of range"),
        ({"types": {"US_SSN": 3}}, "an action name or a table"),
        ({"version": 2}, "version"),
        ({"colums": {}}, "unknown top-level"),
        ({"types": []}, "must be tables"),
    ],
)
def test_mistakes_are_refused(doc: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        policy_from_dict(doc, known_types=TYPES)
    assert caught.value.code == "sanitize.policy_invalid"


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as missing:
        load_policy(tmp_path / "nope.toml", known_types=TYPES)
    bad = tmp_path / "bad.toml"
    bad.write_text("types = [")
    with pytest.raises(InvalidInput, match="TOML") as malformed:
        load_policy(bad, known_types=TYPES)
    assert missing.value.code == malformed.value.code == "sanitize.policy_invalid"
