"""Authorization: deny by default, roles from the database, MFA for admin permissions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bastion.context import AuthMethod, Principal, PrincipalKind
from bastion.db.models import RoleRow
from bastion.errors import AuthenticationFailed, MfaRequired, PermissionDenied
from bastion.identity.permissions import ADMIN_PERMISSIONS, is_known
from bastion.identity.policy import any_covers


def role_grants(session: Session, role: str) -> list[str]:
    """The grants of a role as stored now (policy edits apply at once)."""
    row = session.get(RoleRow, role)
    return list(row.permissions) if row else []


def check(principal: Principal, grants: list[str], permission: str, resource: str) -> None:
    """Raise unless ``principal`` holding ``grants`` may do ``permission`` on ``resource``."""
    if principal.auth is AuthMethod.NONE:
        raise AuthenticationFailed("authentication required")
    if not is_known(permission):
        raise PermissionDenied(
            f"unknown permission {permission!r}", code="access.unknown_permission"
        )
    if principal.kind is PrincipalKind.SYSTEM and principal.auth is AuthMethod.SYSTEM:
        return
    if not any_covers(grants, permission, resource):
        raise PermissionDenied(
            f"{principal.name} (role {principal.role}) may not {permission}"
            + (f" on {resource}" if resource else "")
        )
    if principal.scopes and not any_covers(principal.scopes, permission, resource):
        raise PermissionDenied(
            f"the API key in use is not scoped for {permission}",
            code="access.scope_denied",
            hint="Create a key whose --scope includes this permission.",
        )
    if permission in ADMIN_PERMISSIONS and (
        principal.kind is not PrincipalKind.USER or principal.auth is not AuthMethod.MFA_SESSION
    ):
        raise MfaRequired(f"{permission} is an admin permission and needs an MFA session")


def authorize(session: Session, principal: Principal, permission: str, resource: str = "") -> None:
    """Look up the principal's role and :func:`check` the request."""
    grants = [] if principal.kind is PrincipalKind.SYSTEM else role_grants(session, principal.role)
    check(principal, grants, permission, resource)


def _names(grants: list[str], permission: str) -> bool:
    return any(g == "*" or g.partition("@")[0] == permission for g in grants)


def authorize_each(
    session: Session, principal: Principal, permission: str, resources: list[str], *, every: str
) -> list[str]:
    """The subset of ``resources`` the principal may ``permission``, for listings.

    A principal allowed ``every`` (e.g. ``dataset/*``) sees all. One whose grants are
    scoped (``data:list@dataset/public-*``) sees the matching ones. One that holds the
    permission on nothing at all gets the usual denial, so deny-by-default still holds.
    """
    try:
        authorize(session, principal, permission, every)
        return list(resources)
    except PermissionDenied:
        grants = role_grants(session, principal.role)
        holds = _names(grants, permission) and (
            not principal.scopes or _names(list(principal.scopes), permission)
        )
        if not holds:
            raise
        allowed = []
        for resource in resources:
            try:
                check(principal, grants, permission, resource)
            except PermissionDenied:
                continue
            allowed.append(resource)
        return allowed
