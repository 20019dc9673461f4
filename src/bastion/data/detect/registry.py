"""The recognizer registry: built-ins in one explicit list, plugins from entry points.

Third parties ship a recognizer by declaring, in their package metadata::

    [project.entry-points."bastion.recognizers"]
    my_ids = "mypkg.recognizers:EmployeeIdRecognizer"

The entry point names a class (or any callable) that returns a :class:`Recognizer`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from bastion.data.detect.base import Finding, Recognizer

ENTRY_POINT_GROUP = "bastion.recognizers"

# Each module exposes ``RECOGNIZERS``: a tuple of ready recognizer instances.
_BUILTIN_MODULES = (
    "email",
    "phone",
    "ssn",
    "cards",
    "iban",
    "ip",
    "dob",
    "passport",
    "mrn",
    "secrets",
    "person",
    "address",
)


def builtin_recognizers() -> list[Recognizer]:
    """Bastion's own recognizers, in a stable order."""
    found: list[Recognizer] = []
    for module in _BUILTIN_MODULES:
        mod = importlib.import_module(f"bastion.data.detect.recognizers.{module}")
        found.extend(mod.RECOGNIZERS)
    return found


@cache
def _plugin_entry_points() -> tuple[EntryPoint, ...]:
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def registered_recognizers() -> list[Recognizer]:
    """Built-ins plus plugins; a plugin with a built-in's name replaces it."""
    plugins: dict[str, Recognizer] = {}
    for ep in _plugin_entry_points():
        recognizer = ep.load()()
        if not isinstance(recognizer, Recognizer):
            raise TypeError(f"entry point {ep.name!r} did not give a Recognizer")
        plugins[recognizer.name] = recognizer
    merged = [plugins.pop(r.name, r) for r in builtin_recognizers()]
    return merged + list(plugins.values())


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep the best of overlapping findings: higher score, then longer, then earlier.

    A value is reported once, with the one type its strongest evidence supports.
    """
    ranked = sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for candidate in ranked:
        if all(candidate.end <= k.start or candidate.start >= k.end for k in kept):
            kept.append(candidate)
    kept.sort(key=lambda f: (f.start, f.end))
    return kept


class Detector:
    """Runs a set of recognizers over text and resolves their overlaps."""

    def __init__(
        self,
        recognizers: Sequence[Recognizer] | None = None,
        *,
        threshold: float = 0.5,
        entity_types: Iterable[str] | None = None,
    ) -> None:
        chosen = list(recognizers) if recognizers is not None else registered_recognizers()
        wanted = frozenset(entity_types) if entity_types is not None else None
        if wanted is not None:
            chosen = [r for r in chosen if r.entity_types & wanted]
        self.recognizers = chosen
        self.threshold = threshold
        self.entity_types = wanted

    def detect(self, text: str) -> list[Finding]:
        """Every sensitive value in ``text`` scoring at least the threshold, in order."""
        if not text:
            return []
        raw: list[Finding] = []
        for recognizer in self.recognizers:
            for finding in recognizer.find(text):
                if finding.score < self.threshold:
                    continue
                if self.entity_types is not None and finding.type not in self.entity_types:
                    continue
                raw.append(finding)
        return resolve_overlaps(raw)


@cache
def default_detector() -> Detector:
    """The process-wide detector with every registered recognizer (built once)."""
    return Detector()
