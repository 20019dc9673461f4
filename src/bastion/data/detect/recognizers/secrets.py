"""Credentials: vendor tokens with fixed prefixes, JWTs, bearer tokens, PEM private keys,
and high-entropy strings labelled as secrets.

Self-evident formats (a vendor prefix and length, a JWT whose header decodes to JSON
with ``alg``, a PEM ``PRIVATE KEY`` block) score high on their own. An arbitrary string is
a secret only when labelled so (``token=``, ``"api_key": ...``, ``aws_secret_access_key``)
and random-looking: long, mixed character classes, high Shannon entropy. Hex digests (git
SHAs, MD5, SHA-*), UUIDs and other ids are never reported on entropy alone.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Iterator

from bastion.data.detect.base import Finding
from bastion.data.detect.recognizers.context import (
    context_distance,
    mentions,
    with_context,
)

_TYPE = "API_SECRET"
_EDGE_L = r"(?<![A-Za-z0-9_\-])"
_EDGE_R = r"(?![A-Za-z0-9_\-])"

# Formats whose prefix and length identify the issuer.
_VENDOR = re.compile(
    _EDGE_L + r"(?:"
    r"(?P<aws>(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16})"
    r"|(?P<github>gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,240})"
    r"|(?P<gitlab>glpat-[A-Za-z0-9_\-]{20,64})"
    r"|(?P<slack>xox[abposre]-[A-Za-z0-9-]{10,250}|xapp-\d-[A-Za-z0-9-]{10,250})"
    r"|(?P<stripe>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}|whsec_[A-Za-z0-9]{24,64})"
    r"|(?P<google>AIza[0-9A-Za-z_\-]{35}|ya29\.[0-9A-Za-z_\-]{20,2048})"
    r"|(?P<openai>sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?[A-Za-z0-9_\-]{32,200})"
    r"|(?P<npm>npm_[A-Za-z0-9]{36})"
    r"|(?P<pypi>pypi-AgE[A-Za-z0-9_\-]{50,300})"
    r"|(?P<sendgrid>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})"
    r"|(?P<twilio>SK[0-9a-f]{32})"
    r")" + _EDGE_R
)
_VENDOR_SCORE = 0.95
_SLACK_WEBHOOK = re.compile(
    r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,200}"
)

# Three base64url parts; the header (and payload) of a JSON Web Token open with ``eyJ``.
_JWT = re.compile(
    _EDGE_L + r"eyJ[A-Za-z0-9_\-]{8,4096}+\.eyJ[A-Za-z0-9_\-]{4,8192}+\.[A-Za-z0-9_\-]{0,4096}+"
    r"(?![A-Za-z0-9_\-]|\.[A-Za-z0-9_\-])"
)
_JWT_SCORE = 0.96

# ``Authorization: Bearer <token>`` / ``Basic <base64>``: the span is the credential.
_AUTH = re.compile(
    r"(?<![A-Za-z])(bearer|basic)[ \t]+([A-Za-z0-9\-._~+/]{16,4096}=*)"
    r"(?![A-Za-z0-9\-._~+/=])",
    re.IGNORECASE,
)
_OPAQUE = re.compile(r"(?=.*\d)(?=.*[A-Za-z])(?![0-9a-fA-F]+$)\S{20,}")
_AUTH_SCORE = 0.9

_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?)-----")
# The key material of a block whose END line is missing: base64 lines and PEM headers.
_PEM_BODY = re.compile(
    r"(?:(?:\s|\\n)*+(?:[A-Za-z0-9+/=]{16,}+|(?:Proc-Type|DEK-Info):[^\n\\]*+))*+"
)
_PEM_MATERIAL = re.compile(r"[A-Za-z0-9+/=]{32}")
_PEM_SCORE = 0.99

# A labelled value: 20+ characters of the alphabets tokens are written in.
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_\-+/.])[A-Za-z0-9_\-+/.]{20,512}+={0,2}(?![A-Za-z0-9_\-+/=.@])"
)
_CONTEXT = re.compile(
    r"(?<![a-z])(?:secret|secrets|token|tokens|api[\s_-]?key|apikey|access[\s_-]?key"
    r"|secret[\s_-]?key|private[\s_-]?key|client[\s_-]?secret|passw(?:or)?d|pwd|passphrase"
    r"|auth|authorization|credentials?|bearer|aws[\s_-]?secret(?:[\s_-]?access[\s_-]?key)?"
    r"|session[\s_-]?key|signing[\s_-]?key|webhook[\s_-]?secret|x-api-key)(?![a-z])",
    re.IGNORECASE,
)
_KEYWORDS = (
    "secret", "token", "key", "passw", "pwd", "passphrase", "auth", "credential", "bearer",
)  # fmt: skip
_HEX = re.compile(r"(?:0x)?[0-9a-fA-F]+")
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
_JOINED_NAME = re.compile(r"[a-z][a-z0-9]*(?:[._][a-z0-9]+)+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_MIN_ENTROPY = 3.5
_ENTROPY_SCORE = 0.85


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def code_identifier(value: str) -> bool:
    """Whether ``value`` reads as a name from source code rather than random characters.

    ``rust_openssl.ed25519.Ed25519PrivateKey``, ``get_credentials``, ``MLKEM768PublicKey``:
    single-case names joined by dots or underscores, dotted names, or mixed-case text made
    of word-length pieces (random base62 splits into pieces of about two characters).
    """
    lower, upper = any(c.islower() for c in value), any(c.isupper() for c in value)
    if not (lower and upper) and _JOINED_NAME.fullmatch(value.lower()):
        return True  # snake_case, CONSTANT_CASE, dotted.names
    if "." in value and all(_NAME.fullmatch(part) for part in value.split(".")):
        return True  # module.Class.attribute
    if lower and upper:
        pieces = _WORD_PIECE.findall(value)
        return sum(map(len, pieces)) >= 3.5 * max(1, len(pieces))
    return False


def random_looking(value: str) -> bool:
    """Long, of several character classes, high entropy, and not a digest, a UUID, a path
    or a name from source code."""
    core = value.rstrip("=")
    n = len(core)
    if n < 20 or _HEX.fullmatch(core) or _UUID.fullmatch(core):
        return False
    has_digit = any(c.isdigit() for c in core)
    classes = any(c.islower() for c in core) + any(c.isupper() for c in core) + has_digit
    if classes < 2 or (classes == 2 and not has_digit):
        return False  # words (``ThisIsNotASecret``)
    if core.startswith("/") or "//" in core:
        return False  # paths and URLs
    if not any(c.isupper() for c in core) and ("/" in core or "." in core):
        return False  # paths, host names, dotted names
    if code_identifier(core):
        return False
    # Random strings fall short of log2(n) bits per character by about one bit at most.
    return shannon_entropy(core) >= min(_MIN_ENTROPY, math.log2(n) - 1.2)


def basic_credentials(value: str) -> bool:
    """Whether ``value`` is HTTP Basic credentials: base64 of ``user:password`` text."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()


def jwt_header_ok(token: str) -> bool:
    """Whether the first part decodes to a JSON object with an ``alg``."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
        header = json.loads(decoded)
    except (binascii.Error, ValueError, RecursionError):
        return False
    return isinstance(header, dict) and "alg" in header


class SecretRecognizer:
    """API_SECRET."""

    name = "api_secret"
    entity_types = frozenset({_TYPE})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = r"[A-Za-z0-9_\-+/.]{16}|PRIVATE KEY"

    def find(self, text: str) -> Iterator[Finding]:
        for m in _VENDOR.finditer(text):
            yield Finding(m.start(), m.end(), _TYPE, _VENDOR_SCORE, self.name)
        if "hooks.slack.com" in text:
            for m in _SLACK_WEBHOOK.finditer(text):
                yield Finding(m.start(), m.end(), _TYPE, _VENDOR_SCORE, self.name)
        if "eyJ" in text:
            for m in _JWT.finditer(text):
                if jwt_header_ok(m.group()):
                    yield Finding(m.start(), m.end(), _TYPE, _JWT_SCORE, self.name)
        for m in _AUTH.finditer(text) if mentions(text, ("bearer", "basic")) else ():
            token = m.group(2)
            if m.group(1).lower() == "basic":
                ok = basic_credentials(token)
            else:  # opaque bearer tokens need not be random: letters and digits will do
                ok = _OPAQUE.fullmatch(token) is not None or random_looking(token)
            if ok:
                yield Finding(m.start(2), m.end(2), _TYPE, _AUTH_SCORE, self.name)
        if "PRIVATE KEY" in text:
            yield from self._pem(text)
        if mentions(text, _KEYWORDS):
            yield from self._labelled(text)

    def _pem(self, text: str) -> Iterator[Finding]:
        missing: set[str] = set()
        pos = 0
        while (m := _PEM_BEGIN.search(text, pos)) is not None:
            label = m.group(1)
            end = -1 if label in missing else text.find(f"-----END {label}-----", m.end())
            if end < 0:
                missing.add(label)
                # A truncated block: the key material that follows is still secret.
                body = _PEM_BODY.match(text, m.end())
                stop = body.end() if body else m.end()
            else:
                stop = end + len(label) + 14
            if _PEM_MATERIAL.search(text, m.end(), stop) is not None:  # not bare markers
                yield Finding(m.start(), stop, _TYPE, _PEM_SCORE, self.name)
            pos = max(stop, m.end())

    def _labelled(self, text: str) -> Iterator[Finding]:
        for m in _TOKEN.finditer(text):
            value = m.group()
            if not random_looking(value):
                continue
            start, end = m.span()
            distance = context_distance(text, start, end, _CONTEXT, before=32)
            if distance is not None:
                score = with_context(0.0, distance, _ENTROPY_SCORE)
                yield Finding(start, end, _TYPE, score, self.name)


RECOGNIZERS = (SecretRecognizer(),)
