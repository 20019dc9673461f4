"""API keys: issue (shown once), list, rotate with an overlap window, revoke, authenticate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.context import AuthMethod, Context, Principal, PrincipalKind
from bastion.db.engine import transaction
from bastion.db.models import ApiKeyRow, PrincipalRow, RoleRow
from bastion.errors import AuthenticationFailed, InvalidInput, NotFound
from bastion.identity import credentials
from bastion.identity.policy import validate_grant
from bastion.identity.principals import get_principal
from bastion.operation import operation
from bastion.workspace import Workspace

DEFAULT_TTL = timedelta(days=90)
MAX_TTL = timedelta(days=366)
# last_used_at is refreshed at most this often, so a busy key does not write per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class NewApiKey:
    """A freshly issued key: ``token`` is shown once and never stored."""

    token: str
    prefix: str
    principal: str
    scopes: list[str]
    expires_at: datetime | None


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as listings show it: never its secret."""

    prefix: str
    principal: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    rotated_to: str | None

    def state(self, now: datetime) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def _info(row: ApiKeyRow, principal: str) -> ApiKeyInfo:
    return ApiKeyInfo(
        row.prefix,
        principal,
        row.name,
        list(row.scopes),
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.last_used_at,
        row.rotated_to,
    )


def _check_scopes(scopes: list[str], role_grants: list[str]) -> list[str]:
    for scope in scopes:
        validate_grant(scope)
        name = scope.partition("@")[0]
        if scope != "*" and not any(g == "*" or g.partition("@")[0] == name for g in role_grants):
            raise InvalidInput(
                f"scope {scope!r} exceeds what the principal's role grants",
                code="identity.scope_exceeds_role",
            )
    return sorted(set(scopes))


def create_key(
    ws: Workspace,
    ctx: Context,
    principal: str,
    *,
    name: str = "",
    scopes: list[str] | None = None,
    ttl: timedelta | None = DEFAULT_TTL,
) -> NewApiKey:
    """Issue an API key for a principal. The secret is returned here and never again."""
    with operation(
        ws, ctx, "key.create", permission="key:create", resource=f"principal/{principal}"
    ) as op:
        if ttl is not None and (ttl <= timedelta(0) or ttl > MAX_TTL):
            raise InvalidInput(
                "key lifetime must be between 1 second and 366 days", code="identity.bad_ttl"
            )
        token = credentials.mint_token(credentials.API_KEY_KIND)
        now = ctx.clock.now()
        expires = now + ttl if ttl is not None else None
        with transaction(ws.sessions) as session:
            row_p = get_principal(session, principal)
            if row_p.disabled:
                raise InvalidInput(
                    f"{principal} is disabled; a key for it could never be used",
                    code="identity.principal_disabled",
                )
            role = session.get(RoleRow, row_p.role)
            checked = _check_scopes(scopes or [], list(role.permissions) if role else [])
            session.add(
                ApiKeyRow(
                    prefix=token.prefix,
                    secret_hash=credentials.token_digest(ws.keyring.keyed_hash, token, row_p.id),
                    principal_id=row_p.id,
                    name=name,
                    scopes=checked,
                    created_at=now,
                    expires_at=expires,
                )
            )
        op.resource = f"api_key/{token.prefix}"
        op.details.update(
            {
                "principal": principal,
                "scopes": checked,
                "expires_at": expires.isoformat() if expires else None,
            }
        )
        return NewApiKey(token.full, token.prefix, principal, checked, expires)


def list_keys(ws: Workspace, ctx: Context, principal: str | None = None) -> list[ApiKeyInfo]:
    """Keys of one principal or of all."""
    with (
        operation(
            ws, ctx, "key.list", permission="key:read", resource=f"principal/{principal or '*'}"
        ),
        transaction(ws.sessions) as session,
    ):
        stmt = (
            select(ApiKeyRow, PrincipalRow.name)
            .join(PrincipalRow, PrincipalRow.id == ApiKeyRow.principal_id)
            .order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        )
        if principal is not None:
            stmt = stmt.where(PrincipalRow.name == principal)
        return [_info(row, pname) for row, pname in session.execute(stmt).all()]


def _key_row(session: Session, prefix: str) -> ApiKeyRow:
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
    if row is None:
        raise NotFound(f"no API key with prefix {prefix!r}", code="identity.key_not_found")
    return row


def rotate_key(
    ws: Workspace, ctx: Context, prefix: str, *, overlap: timedelta = timedelta(hours=24)
) -> NewApiKey:
    """Issue a successor with the same principal and scopes; the old key lives ``overlap``."""
    with operation(
        ws, ctx, "key.rotate", permission="key:rotate", resource=f"api_key/{prefix}"
    ) as op:
        if overlap < timedelta(0):
            raise InvalidInput("overlap cannot be negative", code="identity.bad_overlap")
        now = ctx.clock.now()
        token = credentials.mint_token(credentials.API_KEY_KIND)
        with transaction(ws.sessions) as session:
            old = _key_row(session, prefix)
            if old.revoked_at is not None or (old.expires_at and old.expires_at <= now):
                raise InvalidInput(
                    "only an active key can be rotated", code="identity.key_inactive"
                )
            if old.rotated_to is not None:
                # A second successor would outlive the first's tracking, and the lifetime
                # below would be measured to the shortened overlap end.
                raise InvalidInput(
                    f"key {prefix} was already rotated to {old.rotated_to}",
                    code="identity.key_rotated",
                    hint="Rotate its successor instead.",
                )
            lifetime = (old.expires_at - old.created_at) if old.expires_at else None
            new_expiry = now + lifetime if lifetime else None
            session.add(
                ApiKeyRow(
                    prefix=token.prefix,
                    secret_hash=credentials.token_digest(
                        ws.keyring.keyed_hash, token, old.principal_id
                    ),
                    principal_id=old.principal_id,
                    name=old.name,
                    scopes=list(old.scopes),
                    created_at=now,
                    expires_at=new_expiry,
                )
            )
            overlap_end = now + overlap
            if old.expires_at is None or old.expires_at > overlap_end:
                old.expires_at = overlap_end
            overlap_end = old.expires_at
            old.rotated_to = token.prefix
            owner = session.get(PrincipalRow, old.principal_id)
            owner_name = owner.name if owner else "?"
            scopes = list(old.scopes)
        op.details.update(
            {"successor": token.prefix, "old_key_expires_at": overlap_end.isoformat()}
        )
        return NewApiKey(token.full, token.prefix, owner_name, scopes, new_expiry)


def revoke_key(ws: Workspace, ctx: Context, prefix: str) -> None:
    """Revoke a key at once; it never authenticates again."""
    with operation(ws, ctx, "key.revoke", permission="key:revoke", resource=f"api_key/{prefix}"):
        with transaction(ws.sessions) as session:
            row = _key_row(session, prefix)
            if row.revoked_at is None:
                row.revoked_at = ctx.clock.now()


def verify_api_key(ws: Workspace, presented: str, now: datetime) -> Principal:
    """The principal behind a presented key, or AuthenticationFailed; not audited.

    For callers that audit the request the key came with (the gateway, one event per
    request); everything else calls :func:`authenticate_api_key`. A failure whose key
    matched names its owner in ``details["owner"]``, so the caller's audit can too.
    """
    token = credentials.parse_token(presented, credentials.API_KEY_KIND)
    with transaction(ws.sessions) as session:
        row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == token.prefix))
        expected = row.secret_hash if row else "0" * 64
        presented_digest = credentials.token_digest(
            ws.keyring.keyed_hash, token, row.principal_id if row else 0
        )
        if row is None or not credentials.same_hash(expected, presented_digest):
            raise AuthenticationFailed("invalid credentials")
        owner = session.get(PrincipalRow, row.principal_id)
        facts = {"owner": owner.name} if owner is not None else {}
        if row.revoked_at is not None:
            raise AuthenticationFailed(
                "invalid credentials", code="auth.key_revoked", details=facts
            )
        if row.expires_at is not None and row.expires_at <= now:
            raise AuthenticationFailed(
                "invalid credentials", code="auth.key_expired", details=facts
            )
        if owner is None or owner.disabled:
            raise AuthenticationFailed(
                "invalid credentials", code="auth.principal_disabled", details=facts
            )
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = now
            owner.last_used_at = now
        return Principal(
            id=owner.id,
            name=owner.name,
            kind=PrincipalKind(owner.kind),
            role=owner.role,
            auth=AuthMethod.API_KEY,
            scopes=tuple(row.scopes),
            credential_id=row.prefix,
        )


def authenticate_api_key(ws: Workspace, ctx: Context, presented: str) -> Principal:
    """Turn a presented key into a Principal, or raise AuthenticationFailed (audited)."""
    prefix = presented.strip().split("_", 2)[1] if presented.count("_") >= 2 else "?"
    with operation(
        ws, ctx, "auth.api_key", permission=None, resource=f"api_key/{prefix[:16]}"
    ) as op:
        try:
            principal = verify_api_key(ws, presented, ctx.clock.now())
        except AuthenticationFailed as exc:
            # The holder proved possession of this key: name its owner in the audit log.
            if "owner" in exc.details:
                op.actor = str(exc.details.pop("owner"))
            raise
        op.actor = principal.name
        return principal
