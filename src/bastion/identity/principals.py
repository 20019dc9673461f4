"""Principals (users and service accounts), roles and MFA enrolment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.context import AuthMethod, Context, PrincipalKind
from bastion.db.engine import transaction
from bastion.db.models import PrincipalRow, RoleRow, SessionRow
from bastion.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    MfaRequired,
    NotFound,
    PermissionDenied,
)
from bastion.identity import credentials
from bastion.identity.policy import DEFAULT_ROLES, expand, holds_admin, validate_grant
from bastion.operation import operation
from bastion.workspace import Workspace

NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,62}$")
TOTP_PURPOSE = "totp-seed:"


@dataclass(frozen=True)
class NewPrincipal:
    """What is shown once after creating a principal."""

    name: str
    kind: str
    role: str
    password: str | None = None
    totp_secret: str | None = None
    totp_uri: str | None = None


@dataclass(frozen=True)
class PrincipalInfo:
    """A principal as listings show it (no secrets)."""

    name: str
    kind: str
    role: str
    disabled: bool
    mfa_enrolled: bool
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class RoleInfo:
    """A role and its grants."""

    name: str
    description: str
    grants: list[str]
    builtin: bool


def _check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid name {name!r}",
            code="identity.bad_name",
            hint=(
                "Use 2-63 characters: lowercase letters, digits, '_', '.', '-'; "
                "start with a letter."
            ),
        )
    return name


def get_principal(session: Session, name: str) -> PrincipalRow:
    """The principal row by name, or NotFound."""
    row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == name))
    if row is None:
        raise NotFound(f"no principal named {name!r}", code="identity.principal_not_found")
    return row


def seed_roles(ws: Workspace, ctx: Context) -> None:
    """Write the default roles (done once, by ``bastion init``)."""
    with operation(ws, ctx, "role.seed", permission="role:write", resource="role/*") as op:
        now = ctx.clock.now()
        with transaction(ws.sessions) as session:
            for name, (description, grants) in DEFAULT_ROLES.items():
                session.add(
                    RoleRow(
                        name=name,
                        description=description,
                        permissions=list(grants),
                        builtin=True,
                        updated_at=now,
                    )
                )
        op.details["roles"] = sorted(DEFAULT_ROLES)


def _new_human_secrets(ws: Workspace, row: PrincipalRow) -> tuple[str, bytes]:
    password = credentials.new_password()
    seed = credentials.new_totp_secret()
    row.password_hash = credentials.hash_password(password)
    row.totp_secret_sealed = ws.keyring.seal_secret(seed, TOTP_PURPOSE + row.name)
    row.totp_last_step = None
    return password, seed


def add_principal(
    ws: Workspace, ctx: Context, name: str, role: str, *, service_account: bool = False
) -> NewPrincipal:
    """Create a user (password + TOTP, shown once) or a service account (keys only)."""
    kind = PrincipalKind.SERVICE if service_account else PrincipalKind.USER
    with operation(
        ws, ctx, "user.create", permission="user:create", resource=f"principal/{name}"
    ) as op:
        _check_name(name)
        op.details.update({"role": role, "kind": kind.value})
        with transaction(ws.sessions) as session:
            role_row = session.get(RoleRow, role)
            if role_row is None:
                raise NotFound(f"no role named {role!r}", code="identity.role_not_found")
            if service_account and holds_admin(role_row.permissions):
                raise InvalidInput(
                    f"role {role!r} holds admin permissions; service accounts never may",
                    code="identity.service_account_admin",
                    hint="Give the service account a role without admin permissions.",
                )
            if session.scalar(select(PrincipalRow.id).where(PrincipalRow.name == name)):
                raise Conflict(f"principal {name!r} already exists", code="identity.exists")
            now = ctx.clock.now()
            row = PrincipalRow(
                name=name,
                kind=kind.value,
                role=role,
                disabled=False,
                created_at=now,
                created_by=ctx.principal.name,
                failed_logins=0,
            )
            password = seed = None
            if kind is PrincipalKind.USER:
                password, seed = _new_human_secrets(ws, row)
                row.mfa_enrolled_at = now
            session.add(row)
        if seed is None:
            return NewPrincipal(name, kind.value, role)
        return NewPrincipal(
            name,
            kind.value,
            role,
            password=password,
            totp_secret=credentials.totp_secret_text(seed),
            totp_uri=credentials.provisioning_uri(seed, name),
        )


def list_principals(ws: Workspace, ctx: Context) -> list[PrincipalInfo]:
    """Every principal, by name."""
    with operation(ws, ctx, "user.list", permission="user:read", resource="principal/*"):
        with transaction(ws.sessions) as session:
            rows = session.scalars(select(PrincipalRow).order_by(PrincipalRow.name)).all()
            return [
                PrincipalInfo(
                    r.name,
                    r.kind,
                    r.role,
                    r.disabled,
                    r.mfa_enrolled_at is not None,
                    r.created_at,
                    r.last_used_at,
                )
                for r in rows
            ]


def disable_principal(ws: Workspace, ctx: Context, name: str) -> None:
    """Disable a principal and end its sessions; its keys stop working with it."""
    with operation(
        ws, ctx, "user.disable", permission="user:disable", resource=f"principal/{name}"
    ) as op:
        if name == ctx.principal.name:
            raise InvalidInput("you cannot disable yourself", code="identity.self_disable")
        now = ctx.clock.now()
        with transaction(ws.sessions) as session:
            row = get_principal(session, name)
            row.disabled = True
            ended = 0
            for s in session.scalars(
                select(SessionRow).where(
                    SessionRow.principal_id == row.id, SessionRow.revoked_at.is_(None)
                )
            ):
                s.revoked_at = now
                ended += 1
        op.details["sessions_ended"] = ended


def enroll_mfa(ws: Workspace, ctx: Context, name: str | None = None) -> NewPrincipal:
    """Replace a user's TOTP secret: one's own, or another's with ``user:create``."""
    target = name or ctx.principal.name
    other = target != ctx.principal.name
    with operation(
        ws,
        ctx,
        "mfa.enroll",
        permission="user:create" if other else None,
        resource=f"principal/{target}",
    ):
        if not other:
            if ctx.principal.auth is AuthMethod.NONE:
                raise AuthenticationFailed("authentication required")
            if ctx.principal.kind is not PrincipalKind.USER:
                raise PermissionDenied("only human users enrol in MFA", code="identity.not_a_user")
            if ctx.principal.auth is not AuthMethod.MFA_SESSION:
                raise MfaRequired("re-enrolling MFA needs a current MFA session")
        with transaction(ws.sessions) as session:
            row = get_principal(session, target)
            if row.kind != PrincipalKind.USER.value:
                raise InvalidInput("service accounts do not use MFA", code="identity.not_a_user")
            seed = credentials.new_totp_secret()
            row.totp_secret_sealed = ws.keyring.seal_secret(seed, TOTP_PURPOSE + row.name)
            row.totp_last_step = None
            row.mfa_enrolled_at = ctx.clock.now()
        return NewPrincipal(
            target,
            row.kind,
            row.role,
            totp_secret=credentials.totp_secret_text(seed),
            totp_uri=credentials.provisioning_uri(seed, target),
        )


def bootstrap_admin(ws: Workspace, ctx: Context, name: str = "admin") -> NewPrincipal:
    """Create the first admin during ``bastion init`` (ctx is the SYSTEM principal)."""
    return add_principal(ws, ctx, name, "admin")


# -- roles --------------------------------------------------------------------------


def list_roles(ws: Workspace, ctx: Context) -> list[RoleInfo]:
    """Every role with its grants."""
    with operation(ws, ctx, "role.list", permission="role:read", resource="role/*"):
        with transaction(ws.sessions) as session:
            rows = session.scalars(select(RoleRow).order_by(RoleRow.name)).all()
            return [RoleInfo(r.name, r.description, list(r.permissions), r.builtin) for r in rows]


def change_role(
    ws: Workspace, ctx: Context, role: str, *, grant: list[str], revoke: list[str]
) -> RoleInfo:
    """Add and remove grants of a role (admin, audited with the before/after)."""
    with operation(ws, ctx, "role.update", permission="role:write", resource=f"role/{role}") as op:
        for g in grant:
            validate_grant(g)
        with transaction(ws.sessions) as session:
            row = session.get(RoleRow, role)
            if row is None:
                raise NotFound(f"no role named {role!r}", code="identity.role_not_found")
            before = list(row.permissions)
            missing = [g for g in revoke if g not in before]
            if missing:
                # Revoking one permission from a '*' role would silently do nothing.
                raise InvalidInput(
                    f"role {role!r} does not hold {', '.join(missing)}",
                    code="identity.grant_not_held",
                    hint="Revoke grants exactly as 'bastion role list' shows them.",
                )
            after = [g for g in before if g not in set(revoke)]
            for g in grant:  # one at a time, so a grant repeated in the request lands once
                if g not in after:
                    after.append(g)
            if holds_admin(after):
                services = session.scalars(
                    select(PrincipalRow.name).where(
                        PrincipalRow.role == role, PrincipalRow.kind == PrincipalKind.SERVICE.value
                    )
                ).all()
                if services:
                    raise InvalidInput(
                        f"service accounts hold role {role!r}; it cannot gain admin permissions",
                        code="identity.service_account_admin",
                    )
            row.permissions = after
            row.updated_at = ctx.clock.now()
            op.details.update({"before": before, "after": after})
            return RoleInfo(row.name, row.description, expand(after), row.builtin)
