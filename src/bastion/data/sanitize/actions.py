"""The transformations a policy applies to one sensitive value.

Every output has a shape no recognizer reports and every action leaves its own output
unchanged, which is what makes sanitizing twice change nothing more:

==============  ====================================  ===================================
action          output                                example
==============  ====================================  ===================================
redact          ``[TYPE]``                            ``[US_SSN]``
mask            letters and digits but the last n     ``***-**-6789``
                become ``*``
hash            ``sha256:`` + 32 hex digits           ``sha256:5e8848...``
pseudonymize    ``<TYPE#`` + 16 hex (HMAC) + ``>``    ``<PERSON#9f2c41d07a3be815>``
tokenize        ``<tok:TYPE:`` + 16 base32 + ``>``    ``<tok:PERSON:K3QX7V2M4PLA6ZTB>``
generalize      year, IP network, postcode prefix,    ``1984``, ``10.1.2.*``, ``941**``,
                e-mail domain                         ``*@example.org``
==============  ====================================  ===================================
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Protocol

from bastion.data.sanitize.policy import Rule

# Outputs of the actions above (whole value): already sanitized, left as they are.
SANITIZED = re.compile(
    r"\[[A-Z][A-Z0-9_]*\]"
    r"|<[A-Z][A-Z0-9_]*#[0-9a-f]{16}>"
    r"|<tok:[A-Z][A-Z0-9_]*:[A-Z2-7]{16}>"
    r"|sha256:[0-9a-f]{32}"
    r"|\*@[^\s@]+"
    r"|\d{1,3}(?:\.(?:\d{1,3}|\*)){0,2}\.\*"
    r"|[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}:\*"
    r"|[0-9]{2,3}\*\*|[A-Z]{1,2}[0-9][A-Z0-9]? \*\*\*"
    r"|(?:1[89]|20)\d\d"
)
_MASKABLE = re.compile(r"[0-9A-Za-z]")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_US_ZIP = re.compile(r"(?<!\d)(\d{3})\d{2}(?:-\d{4})?(?!\d)")
# Four-digit postcodes (NL, BE, CH, AT, DK...) only after a comma or a line break, so a
# house number is never mistaken for one.
_FOUR_DIGIT_POSTCODE = re.compile(r"[,\n]\s*(?:[A-Z]{1,2}-)?(\d{2})\d{2}(?!\d)")
_UK_OUTWARD = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?[0-9][A-Z]{2}\b")


class PseudonymKey(Protocol):
    """Keyed hashing for pseudonyms (the workspace keyring implements it)."""

    def pseudonymize(self, data: bytes) -> bytes:
        """HMAC of ``data`` under a secret key."""
        ...


class TokenStore(Protocol):
    """Reversible tokenization: the same value gives the same token."""

    def tokenize(self, entity_type: str, value: str) -> str:
        """The token standing for ``value`` (made and stored on first use)."""
        ...


def is_sanitized(value: str) -> bool:
    """True when ``value`` is already the output of an action."""
    return SANITIZED.fullmatch(value) is not None


def redact(entity_type: str) -> str:
    """``[TYPE]``."""
    return f"[{entity_type}]"


def mask(value: str, keep_last: int) -> str:
    """Letters and digits become ``*`` except the last ``keep_last``; separators stay."""
    positions = [m.start() for m in _MASKABLE.finditer(value)]
    hide = set(positions[: max(len(positions) - keep_last, 0)])
    return "".join("*" if i in hide else ch for i, ch in enumerate(value))


def hash_value(value: str) -> str:
    """Unkeyed SHA-256 (truncated to 128 bits): joins work, but guessable values can be
    confirmed by anyone; prefer ``pseudonymize`` for low-entropy values."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:32]


def pseudonymize(value: str, entity_type: str, key: PseudonymKey) -> str:
    """``<TYPE#hmac>``: the same value and type give the same pseudonym in this workspace."""
    digest = key.pseudonymize(f"{entity_type}\x00{value}".encode())
    return f"<{entity_type}#{digest.hex()[:16]}>"


def generalize(value: str, entity_type: str, rule: Rule) -> str:
    """A coarser value of the same kind, or ``[TYPE]`` where none can be derived."""
    if entity_type == "IP_ADDRESS":
        return _generalize_ip(value, rule) or redact(entity_type)
    if entity_type == "EMAIL_ADDRESS":
        _, at, domain = value.rpartition("@")
        return f"*@{domain}" if at and domain else redact(entity_type)
    if entity_type == "STREET_ADDRESS":
        return _generalize_location(value) or redact(entity_type)
    if entity_type == "DATE_OF_BIRTH":
        year = _YEAR.search(value)
        return year.group(1) if year else redact(entity_type)
    if entity_type == "VALUE":  # a whole cell under a column rule: try every kind
        year = _YEAR.fullmatch(value.strip()[-4:]) or _YEAR.match(value.strip())
        return (
            _generalize_ip(value, rule)
            or (f"*@{value.rpartition('@')[2]}" if "@" in value else None)
            or _generalize_location(value)
            or (year.group(1) if year else None)
            or redact("REDACTED")
        )
    return redact(entity_type)


def _generalize_ip(value: str, rule: Rule) -> str | None:
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return None
    if address.version == 4:
        keep = max(min(rule.ipv4_prefix // 8, 3), 0)
        octets = str(address).split(".")[:keep]
        return ".".join([*octets, "*"]) if octets else "*"
    groups = address.exploded.split(":")[: max(min(rule.ipv6_prefix // 16, 7), 0)]
    return ":".join([g.lstrip("0") or "0" for g in groups] + ["*"]) if groups else "*"


def _generalize_location(value: str) -> str | None:
    # HIPAA Safe Harbor style: keep the first three digits of a ZIP code, nothing else.
    for pattern, suffix in ((_US_ZIP, "**"), (_FOUR_DIGIT_POSTCODE, "**"), (_UK_OUTWARD, " ***")):
        # The postcode comes last in every address format we know: take the last match.
        matches = list(pattern.finditer(value))
        if matches:
            found = matches[-1]
            return found.group(1) + suffix
    return None


def apply(
    rule: Rule,
    value: str,
    entity_type: str,
    *,
    key: PseudonymKey | None,
    tokens: TokenStore | None,
) -> str:
    """The sanitized form of ``value`` under ``rule``."""
    action = rule.action
    if action == "keep" or is_sanitized(value):
        return value
    if action == "redact":
        return redact(entity_type)
    if action == "mask":
        return mask(value, rule.keep_last)
    if action == "hash":
        return hash_value(value)
    if action == "pseudonymize":
        if key is None:
            raise ValueError("pseudonymize needs the workspace key")
        return pseudonymize(value, entity_type, key)
    if action == "tokenize":
        if tokens is None:
            raise ValueError("tokenize needs a token store")
        return tokens.tokenize(entity_type, value)
    if action == "generalize":
        return generalize(value, entity_type, rule)
    raise ValueError(f"action {action!r} does not apply to a value")
