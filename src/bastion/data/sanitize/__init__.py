"""Sanitization: a policy says what happens to each entity type and column.

Depends only on the ``Finding`` contract of :mod:`bastion.data.detect`, never on a
particular recognizer.
"""

from __future__ import annotations

from bastion.data.sanitize.actions import is_sanitized
from bastion.data.sanitize.files import SanitizeReport, file_format, sanitize_file
from bastion.data.sanitize.policy import Rule, SanitizePolicy, load_policy, policy_from_dict
from bastion.data.sanitize.text import Changes, Sanitizer

__all__ = [
    "Changes",
    "Rule",
    "SanitizePolicy",
    "SanitizeReport",
    "Sanitizer",
    "file_format",
    "is_sanitized",
    "load_policy",
    "policy_from_dict",
    "sanitize_file",
]
