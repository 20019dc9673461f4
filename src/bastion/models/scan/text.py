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
