"""Passwords, API-key and session token formats, and TOTP (RFC 6238) with replay refusal.

Tokens look like ``bsk_<prefix>_<secret>`` (API key) or ``bss_<prefix>_<secret>``
(session): the prefix is public and indexes the row; the 256-bit secret is stored only
as an HMAC-SHA256 under the keyring's pepper and compared in constant time.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from bastion.errors import AuthenticationFailed

API_KEY_KIND = "bsk"
SESSION_KIND = "bss"
TOTP_STEP = 30
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # accept one step of clock skew either way

_hasher = PasswordHasher()
# Verifying against this keeps the timing of "no such user" equal to "wrong password".
# Made on first use, not at import: an Argon2 hash costs a third of a second of startup.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def hash_password(password: str) -> str:
    """Argon2id hash in PHC string form."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-work password check; unknown users cost the same as known ones."""
    dummy = _dummy_hash()  # computed before branching, so the first call costs the same either way
    try:
        return _hasher.verify(stored_hash or dummy, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """A random initial password (about 128 bits)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Token:
    """A freshly minted token: show ``full`` once, store ``prefix`` and the hash of ``secret``."""

    kind: str
    prefix: str
    secret: str

    @property
    def full(self) -> str:
        """The string handed to the user."""
        return f"{self.kind}_{self.prefix}_{self.secret}"


def mint_token(kind: str) -> Token:
    """A new token with a 64-bit public prefix and a 256-bit secret."""
    return Token(kind, secrets.token_hex(8), secrets.token_urlsafe(32))


def parse_token(text: str, kind: str) -> Token:
    """Split a presented token; malformed input is just a failed authentication."""
    parts = text.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != kind or len(parts[1]) != 16 or len(parts[2]) < 40:
        raise AuthenticationFailed("invalid credentials")
    return Token(parts[0], parts[1], parts[2])


def token_digest(keyed_hash: Callable[[bytes], str], token: Token, principal_id: int) -> str:
    """What is stored for a token: an HMAC binding its kind, prefix, owner and secret.

    Binding the owner means that re-pointing a stored row at another principal (with
    database write access alone) makes the token fail instead of changing who it is.
    """
    return keyed_hash(f"{token.kind}|{token.prefix}|{principal_id}|{token.secret}".encode())


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode(), b.encode())


# -- TOTP -------------------------------------------------------------------------


def new_totp_secret() -> bytes:
    """A 160-bit TOTP seed, as RFC 4226 recommends."""
    return secrets.token_bytes(20)


def totp_secret_text(seed: bytes) -> str:
    """Base32 form that authenticator apps accept."""
    return base64.b32encode(seed).decode("ascii").rstrip("=")


def _totp(seed: bytes) -> TOTP:
    # RFC 6238 TOTP is HMAC-SHA1, which every authenticator app expects; HMAC-SHA1 has
    # no known weakness for this use.
    return TOTP(seed, TOTP_DIGITS, SHA1(), TOTP_STEP, enforce_key_length=False)  # noqa: S303


def totp_code(seed: bytes, at_unix: float) -> str:
    """The code valid at a moment (for enrolment checks and tests)."""
    return _totp(seed).generate(int(at_unix)).decode("ascii")


def provisioning_uri(seed: bytes, account: str, issuer: str = "Bastion") -> str:
    """otpauth:// URI for QR codes."""
    return _totp(seed).get_provisioning_uri(account, issuer)


def match_totp(seed: bytes, code: str, at_unix: float, last_step: int | None) -> int:
    """Return the time step the code belongs to, refusing replays of used steps.

    A code is accepted for the current step or one step either side, and only if that
    step is later than the last step accepted for this principal.
    """
    code = code.strip()
    if len(code) != TOTP_DIGITS or not code.isdigit():
        raise AuthenticationFailed("invalid credentials")
    totp = _totp(seed)
    now_step = int(at_unix) // TOTP_STEP
    matched: int | None = None
    for step in range(now_step - TOTP_WINDOW, now_step + TOTP_WINDOW + 1):
        try:
            totp.verify(code.encode("ascii"), step * TOTP_STEP)
        except InvalidToken:
            continue
        matched = step
    if matched is None:
        raise AuthenticationFailed("invalid credentials")
    if last_step is not None and matched <= last_step:
        raise AuthenticationFailed(
            "this one-time code was already used",
            code="auth.otp_replayed",
            hint="Wait for the next code from your authenticator.",
        )
    return matched
