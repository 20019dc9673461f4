"""IP addresses: dotted-quad IPv4 and IPv6 (full, ``::``-compressed, with embedded IPv4).

Candidates are validated by :mod:`ipaddress`. A dotted quad that is part of a longer
dotted run (``1.2.3.4.5``), glued to a word (``v1.2.3.4``) or labelled as a version
(``version 10.2.0.15``, ``build 4.1.0.7``) is a version number, not an address. IPv6
candidates need a digit and either eight groups or ``::``, which keeps times
(``10:15:30``), MAC addresses and ``Class::method`` names out.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from bastion.data.detect.base import Finding
from bastion.data.detect.recognizers.context import table_cell

_V4 = re.compile(r"(?<![\w.\-])(?:\d{1,3}\.){3}\d{1,3}(?![\w\-]|\.\w)")
_V6 = re.compile(
    r"(?<![\w:.\-])"
    r"(?:[0-9A-Fa-f]{0,4}:){2,7}+"
    r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?![\w:\-]|\.\w)"
)
# Dotted quads labelled as versions (or after a version operator, ``>=1.2.0.0``), object
# identifiers or section numbers.
_VERSION = re.compile(
    r"(?:(?<![a-z])(?:version|ver|v|release|rel|build|firmware|fw|revision|rev|bump(?:ed)?"
    r"|upgrade[ds]?|updated?|patch|sdk|dependency|kernel|driver|bios|semver|oid"
    r"|objectidentifier|section|sec|chapter|clause|rfc\s*\d+)"
    r"(?![a-z])[\s_-]*(?:version|ver|number|no)?|§|[<>~!=^]=|[<>~^])"
    r"[\s:=\"'#(.]*(?:to|from|is|of)?\s*$",
    re.IGNORECASE,
)
_VERSION_HEADER = re.compile(r"version|release|build", re.IGNORECASE)
_V4_SCORE = 0.85
_V6_SCORE = 0.9


def _is_version(text: str, start: int) -> bool:
    """Whether the dotted quad at ``start`` is labelled as a version (or in such a column)."""
    cell = table_cell(text, start)
    if cell is not None:
        return _VERSION_HEADER.search(cell[0]) is not None
    return _VERSION.search(text, max(0, start - 30), start) is not None


class IpRecognizer:
    """IP_ADDRESS."""

    name = "ip_address"
    entity_types = frozenset({"IP_ADDRESS"})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d|::|(?:[^:]*:){7}"

    def find(self, text: str) -> Iterator[Finding]:
        if "." in text:
            yield from self._v4(text)
        if "::" in text or text.count(":") >= 7:
            yield from self._v6(text)

    def _v4(self, text: str) -> Iterator[Finding]:
        for m in _V4.finditer(text):
            start, end = m.span()
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            if _is_version(text, start):
                continue
            yield Finding(start, end, "IP_ADDRESS", _V4_SCORE, self.name)

    def _v6(self, text: str) -> Iterator[Finding]:
        for m in _V6.finditer(text):
            candidate = m.group()
            if not any(c.isdigit() for c in candidate):
                continue
            if "::" in candidate and max(map(len, re.split("[:.]", candidate))) < 3:
                continue  # ``::2``, ``1::2``: slices in code, not addresses
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            yield Finding(m.start(), m.end(), "IP_ADDRESS", _V6_SCORE, self.name)


RECOGNIZERS = (IpRecognizer(),)
