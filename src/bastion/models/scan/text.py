"""Text files beside a model (configs, vocabularies, cards): inert unless they carry tags
that an unsafe YAML loader turns into Python objects."""

from __future__ import annotations

import re

from bastion.models.scan.base import Finding, ScanFailed, Severity
from bastion.models.scan.engine import Target

SCANNER = "text"
_PYTHON_TAG = re.compile(rb"!!python/|tag:yaml\.org,2002:python/")


class TextScanner:
    """UTF-8 text without NUL bytes; YAML python tags are flagged."""

    name = "text"

    def detect(self, head: bytes, name: str) -> str | None:
        if b"\x00" in head:
            return None
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is still text.
            if exc.start < len(head) - 3:
                return None
        return "json" if name.lower().endswith(".json") else "text"

    def scan(self, target: Target) -> list[Finding]:
        data = bytes(target.data)
        if b"\x00" in data:
            raise ScanFailed("unsupported format: binary content")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise ScanFailed("unsupported format: binary content") from None
        as_pickle = _text_pickle(target, data)
        if as_pickle is not None:
            # Protocol 0 is text: a .txt or extension-less pickle is still a pickle.
            target.format = "pickle"
            return as_pickle
        return [
            Finding(
                Severity.HIGH,
                SCANNER,
                "YAML python tag: an unsafe YAML loader would build Python objects from it",
                target.base_offset + match.start(),
                match.group().decode(),
                target.member,
            )
            for match in _PYTHON_TAG.finditer(data)
        ]


def _text_pickle(target: Target, data: bytes) -> list[Finding] | None:
    """Findings when the whole text is a protocol-0 pickle stream, else None."""
    from bastion.models.scan.pickles import PickleAnalyzer

    stripped = data.rstrip(b"\r\n")
    if not stripped.endswith(b"."):
        return None
    analyzer = PickleAnalyzer(data, base_offset=target.base_offset, member=target.member)
    try:
        report = analyzer.run()
    except ScanFailed:
        return None
    if report.pickles == 0 or report.end < len(stripped):
        return None
    return report.findings
