"""Sanitization policies: what to do with each entity type and each column, as data.

A policy is a TOML document::

    version = 1
    default = "redact"                  # for any detected type without its own rule

    [types]
    US_SSN = { action = "mask", keep_last = 4 }
    EMAIL_ADDRESS = "pseudonymize"      # keyed HMAC: same value, same token
    PERSON = "tokenize"                 # reversible, detokenize is its own permission
    DATE_OF_BIRTH = "generalize"        # the year only
    IP_ADDRESS = { action = "generalize", ipv4_prefix = 24, ipv6_prefix = 48 }

    [columns]
    notes = "drop"                      # tabular columns / JSON fields by name
    patient = "pseudonymize"            # the whole cell, whatever is detected in it

Actions: ``keep``, ``redact``, ``mask`` (``keep_last``), ``hash``, ``pseudonymize``,
``tokenize``, ``generalize``, ``drop`` (columns only). Unknown actions, options or entity
types are errors: a typo must never silently leave data in clear.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.errors import InvalidInput

ACTIONS = ("keep", "redact", "mask", "hash", "pseudonymize", "tokenize", "generalize", "drop")
_OPTIONS: dict[str, frozenset[str]] = {
    "mask": frozenset({"keep_last"}),
    "generalize": frozenset({"ipv4_prefix", "ipv6_prefix"}),
}


@dataclass(frozen=True)
class Rule:
    """One action with its options."""

    action: str
    keep_last: int = 4
    ipv4_prefix: int = 24
    ipv6_prefix: int = 48


@dataclass(frozen=True)
class SanitizePolicy:
    """Rules per entity type and per column, and the default for other detected types."""

    default: Rule = field(default_factory=lambda: Rule("redact"))
    types: Mapping[str, Rule] = field(default_factory=dict)
    columns: Mapping[str, Rule] = field(default_factory=dict)

    def for_type(self, entity_type: str) -> Rule:
        """The rule for values of ``entity_type`` found inside text or cells."""
        return self.types.get(entity_type, self.default)

    def describe(self) -> dict[str, Any]:
        """The policy as plain data (for reports and the audit log)."""
        return {
            "default": _rule_dict(self.default),
            "types": {k: _rule_dict(v) for k, v in sorted(self.types.items())},
            "columns": {k: _rule_dict(v) for k, v in sorted(self.columns.items())},
        }


def _rule_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"action": rule.action}
    if rule.action == "mask":
        out["keep_last"] = rule.keep_last
    if rule.action == "generalize":
        out["ipv4_prefix"], out["ipv6_prefix"] = rule.ipv4_prefix, rule.ipv6_prefix
    return out


def _bad(message: str) -> InvalidInput:
    return InvalidInput(
        message,
        code="sanitize.policy_invalid",
        hint="See docs/data-protection.md for the policy format.",
    )


def parse_rule(value: object, where: str, *, column: bool) -> Rule:
    """A rule from ``"action"`` or ``{action = ..., option = ...}``."""
    if isinstance(value, str):
        spec: dict[str, Any] = {"action": value}
    elif isinstance(value, dict):
        spec = dict(value)
    else:
        raise _bad(f"{where}: a rule is an action name or a table, not {type(value).__name__}")
    action = spec.pop("action", None)
    if action not in ACTIONS:
        raise _bad(f"{where}: unknown action {action!r} (one of {', '.join(ACTIONS)})")
    if action == "drop" and not column:
        raise _bad(f"{where}: 'drop' applies to columns only")
    unknown = set(spec) - _OPTIONS.get(action, frozenset())
    if unknown:
        raise _bad(f"{where}: unknown option(s) {', '.join(sorted(unknown))} for {action!r}")
    for key, value_ in spec.items():
        if not isinstance(value_, int) or isinstance(value_, bool) or value_ < 0:
            raise _bad(f"{where}: {key} must be a non-negative integer")
    rule = Rule(action, **spec)
    if not 0 <= rule.ipv4_prefix <= 32 or not 0 <= rule.ipv6_prefix <= 128:
        raise _bad(f"{where}: IP prefix out of range")
    return rule


def policy_from_dict(doc: Mapping[str, Any], *, known_types: frozenset[str]) -> SanitizePolicy:
    """Validate a parsed policy document; ``known_types`` are the detectable entity types."""
    unknown = set(doc) - {"version", "default", "types", "columns"}
    if unknown:
        raise _bad(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    if doc.get("version", 1) != 1:
        raise _bad(f"unsupported policy version {doc.get('version')!r}")
    default = parse_rule(doc.get("default", "redact"), "default", column=False)
    types_doc = doc.get("types", {})
    columns_doc = doc.get("columns", {})
    if not isinstance(types_doc, dict) or not isinstance(columns_doc, dict):
        raise _bad("'types' and 'columns' must be tables")
    types: dict[str, Rule] = {}
    for name, value in types_doc.items():
        if name not in known_types:
            raise _bad(f"types.{name}: no recognizer detects this entity type")
        types[name] = parse_rule(value, f"types.{name}", column=False)
    columns = {
        str(name): parse_rule(value, f"columns.{name}", column=True)
        for name, value in columns_doc.items()
    }
    return SanitizePolicy(default=default, types=types, columns=columns)


def load_policy(path: Path, *, known_types: frozenset[str]) -> SanitizePolicy:
    """Read and validate a policy file."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _bad(f"cannot read policy {path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _bad(f"policy {path} is not valid TOML: {exc}") from exc
    return policy_from_dict(doc, known_types=known_types)
