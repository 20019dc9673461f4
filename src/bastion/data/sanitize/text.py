"""Sanitizing text and cells: detect, then replace each finding under the policy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bastion.data.detect.base import Finding
from bastion.data.sanitize.actions import PseudonymKey, TokenStore, apply, is_sanitized
from bastion.data.sanitize.policy import Rule, SanitizePolicy

Detect = Callable[[str], list[Finding]]


@dataclass
class Changes:
    """What a sanitization changed: counts by (column, entity type, action)."""

    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def add(self, column: str, entity_type: str, action: str, n: int = 1) -> None:
        """Record ``n`` values of ``entity_type`` in ``column`` handled by ``action``."""
        self.counts[(column, entity_type, action)] += n

    def merge(self, other: Changes) -> None:
        """Fold another batch's counts into these."""
        self.counts.update(other.counts)

    @property
    def total(self) -> int:
        """Values changed (``keep`` does not count)."""
        return sum(n for (_, _, action), n in self.counts.items() if action != "keep")

    def as_list(self) -> list[dict[str, object]]:
        """JSON rows, sorted."""
        return [
            {"column": c, "type": t, "action": a, "count": n}
            for (c, t, a), n in sorted(self.counts.items())
        ]


class Sanitizer:
    """Applies a policy to text, using a detector and the workspace's keys and tokens."""

    def __init__(
        self,
        policy: SanitizePolicy,
        detect: Detect,
        *,
        key: PseudonymKey | None = None,
        tokens: TokenStore | None = None,
    ) -> None:
        self.policy = policy
        self.detect = detect
        self.key = key
        self.tokens = tokens
        needs = {
            r.action for r in (policy.default, *policy.types.values(), *policy.columns.values())
        }
        if "pseudonymize" in needs and key is None:
            raise ValueError("this policy pseudonymizes: pass the workspace key")
        if "tokenize" in needs and tokens is None:
            raise ValueError("this policy tokenizes: pass a token store")

    def _apply(self, rule: Rule, value: str, entity_type: str) -> str:
        return apply(rule, value, entity_type, key=self.key, tokens=self.tokens)

    def text(
        self, text: str, changes: Changes | None = None, column: str = "text", weight: int = 1
    ) -> str:
        """``text`` with every detected value replaced as the policy says.

        ``weight`` counts this text as that many occurrences in ``changes`` (a distinct
        cell value standing for all the cells that hold it).
        """
        findings = self.detect(text)
        if not findings:
            return text
        return self._replace(text, findings, changes, column, weight)

    def _replace(
        self,
        text: str,
        findings: Iterable[Finding],
        changes: Changes | None,
        column: str,
        weight: int,
    ) -> str:
        pieces: list[str] = []
        cursor = 0
        for finding in sorted(findings, key=lambda f: f.start):
            if finding.start < cursor:
                continue  # overlaps were resolved by the detector; be safe anyway
            value = text[finding.start : finding.end]
            rule = self.policy.for_type(finding.type)
            replacement = self._apply(rule, value, finding.type)
            pieces.append(text[cursor : finding.start])
            pieces.append(replacement)
            cursor = finding.end
            if changes is not None and replacement != value:
                changes.add(column, finding.type, rule.action, weight)
        pieces.append(text[cursor:])
        return "".join(pieces)

    def cell(self, value: str, column: str, changes: Changes | None = None, weight: int = 1) -> str:
        """One cell of ``column``: its column rule applies to the whole cell, if it has one."""
        rule = self.policy.columns.get(column)
        if rule is None:
            return self.text(value, changes, column, weight)
        if rule.action == "keep" or not value or is_sanitized(value):
            return value
        findings = self.detect(value)
        entity_type = findings[0].type if len(findings) == 1 else "VALUE"
        if rule.action == "redact" and entity_type == "VALUE":
            entity_type = "REDACTED"
        out = self._apply(rule, value, entity_type)
        if changes is not None and out != value:
            changes.add(column, entity_type, rule.action, weight)
        return out
