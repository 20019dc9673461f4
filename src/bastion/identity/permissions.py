"""The catalogue of permissions. A permission not listed here is denied to everyone.

Admin permissions change who can do what (principals, roles, keys, key material); they
are only ever exercised from a human session that passed MFA, never with an API key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    """One permission: its name, what it allows, and whether it is an admin permission."""

    name: str
    description: str
    admin: bool = False


_CATALOGUE: tuple[Permission, ...] = (
    # identity and access
    Permission("user:create", "create users and service accounts", admin=True),
    Permission("user:read", "list principals and their roles"),
    Permission("user:disable", "disable a principal", admin=True),
    Permission("role:read", "read the role policy"),
    Permission("role:write", "change the role policy", admin=True),
    Permission("key:create", "issue API keys", admin=True),
    Permission("key:read", "list API keys (never their secrets)"),
    Permission("key:rotate", "rotate API keys", admin=True),
    Permission("key:revoke", "revoke API keys", admin=True),
    Permission("access:review", "run the periodic access review", admin=True),
    Permission("keyring:manage", "list, rotate and retire key-encryption keys", admin=True),
    # audit
    Permission("audit:read", "query the audit log"),
    Permission("audit:verify", "verify the audit chain"),
    Permission("audit:export", "export audit events for a SIEM"),
    # data
    Permission("data:list", "see dataset metadata (name, classification, owner)"),
    Permission("data:read", "read raw dataset contents"),
    Permission("data:write", "add or remove datasets"),
    Permission("data:scan", "scan data for sensitive fields"),
    Permission("data:detokenize", "reverse tokenization of sanitized data"),
    # models
    Permission("model:list", "see registered models"),
    Permission("model:read", "download model files"),
    Permission("model:register", "register model versions"),
    Permission("model:deploy", "promote, roll back and serve models"),
    Permission("model:predict", "call a served model"),
    Permission("model:review", "review predictions the gateway held for a person"),
    # monitoring, lab, privacy, governance
    Permission("metrics:read", "read metrics, drift and performance"),
    Permission("alert:read", "read alerts"),
    Permission("alert:ack", "acknowledge alerts"),
    Permission("lab:run", "run attack tests"),
    Permission("privacy:train", "run private training"),
    Permission("report:read", "read posture, compliance and fairness reports"),
    Permission("incident:manage", "open and handle incidents"),
)

PERMISSIONS: dict[str, Permission] = {p.name: p for p in _CATALOGUE}
ADMIN_PERMISSIONS: frozenset[str] = frozenset(p.name for p in _CATALOGUE if p.admin)


def is_known(name: str) -> bool:
    """True for a permission in the catalogue."""
    return name in PERMISSIONS
