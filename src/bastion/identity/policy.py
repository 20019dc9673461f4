"""Roles as data, and the one function that decides whether a grant covers a request.

A role grants a list of strings: a permission name (``model:predict``), the same limited
to resources matching a glob (``model:predict@fraud-*``), or ``*`` for every permission
in the catalogue. API key scopes use the same syntax and can only narrow the role.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from bastion.errors import InvalidInput
from bastion.identity.permissions import ADMIN_PERMISSIONS, PERMISSIONS, is_known

ALL = "*"

DEFAULT_ROLES: dict[str, tuple[str, list[str]]] = {
    "admin": ("Full control; admin actions need an MFA session.", [ALL]),
    "data_scientist": (
        "Works with training data and models; cannot deploy or administer.",
        [
            "data:list",
            "data:read",
            "data:write",
            "data:scan",
            "model:list",
            "model:read",
            "model:register",
            "model:predict",
            "metrics:read",
            "report:read",
            "lab:run",
            "privacy:train",
        ],
    ),
    "engineer": (
        "Registers, deploys and serves models; never reads raw training data.",
        [
            "data:list",
            "model:list",
            "model:read",
            "model:register",
            "model:deploy",
            "model:predict",
            "model:review",
            "metrics:read",
            "alert:read",
            "alert:ack",
        ],
    ),
    "analyst": (
        "Reads metrics, alerts and reports; never raw data or models.",
        ["data:list", "model:list", "metrics:read", "alert:read", "report:read"],
    ),
    "executive": (
        "Reads posture and compliance reports and headline metrics.",
        ["report:read", "metrics:read"],
    ),
    "auditor": (
        "Reads, verifies and exports the audit log; nothing else.",
        ["audit:read", "audit:verify", "audit:export"],
    ),
    "service": (
        "For service accounts that call served models.",
        ["model:list", "model:predict"],
    ),
}


def validate_grant(grant: str) -> str:
    """Reject grants that name unknown permissions or are malformed."""
    if grant == ALL:
        return grant
    name, _, pattern = grant.partition("@")
    if not is_known(name):
        raise InvalidInput(
            f"unknown permission {name!r}",
            code="policy.unknown_permission",
            hint="See 'bastion role permissions' for the catalogue.",
        )
    if "@" in grant and not pattern:
        raise InvalidInput(f"empty resource pattern in {grant!r}", code="policy.bad_grant")
    return grant


def grant_covers(grant: str, permission: str, resource: str) -> bool:
    """True when one grant allows ``permission`` on ``resource``."""
    if grant == ALL:
        return permission in PERMISSIONS
    name, sep, pattern = grant.partition("@")
    if name != permission:
        return False
    return not sep or fnmatchcase(resource, pattern)


def any_covers(grants: Iterable[str], permission: str, resource: str) -> bool:
    """True when at least one grant allows the request."""
    return any(grant_covers(g, permission, resource) for g in grants)


def expand(grants: Iterable[str]) -> list[str]:
    """Grants with ``*`` spelled out, sorted: what a role effectively holds."""
    out: set[str] = set()
    for grant in grants:
        if grant == ALL:
            out.update(PERMISSIONS)
        else:
            out.add(grant)
    return sorted(out)


def holds_admin(grants: Iterable[str]) -> bool:
    """True when any grant reaches an admin permission."""
    return any(g.partition("@")[0] in ADMIN_PERMISSIONS for g in expand(grants))
