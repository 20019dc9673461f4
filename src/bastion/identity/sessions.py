"""Human login (password + TOTP), short-lived sessions, logout that revokes server-side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from bastion.context import AuthMethod, Context, Principal, PrincipalKind
from bastion.crypto.aead import DecryptionFailed
from bastion.db.engine import transaction
from bastion.db.models import PrincipalRow, SessionRow
from bastion.errors import AuthenticationFailed, SessionExpired
from bastion.identity import credentials
from bastion.identity.principals import TOTP_PURPOSE
from bastion.operation import operation
from bastion.workspace import Workspace


@dataclass(frozen=True)
class SessionGrant:
    """A new session: ``token`` is shown once (and kept in a 0600 file by the CLI)."""

    token: str
    principal: str
    expires_at: datetime


def login(ws: Workspace, ctx: Context, name: str, password: str, otp: str) -> SessionGrant:
    """Check password and the current TOTP code; refuse replayed codes; open a session."""
    with operation(ws, ctx, "auth.login", permission=None, resource=f"principal/{name}") as op:
        op.actor = name
        now = ctx.clock.now()
        with transaction(ws.sessions) as session:
            row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == name))
            password_ok = credentials.verify_password(row.password_hash if row else None, password)
            if row is None or row.kind != PrincipalKind.USER.value or not password_ok:
                if row is not None:
                    row.failed_logins += 1
                op.details["reason"] = "password"
                raise _deferred_failure(session)
            if row.totp_secret_sealed is None:
                op.details["reason"] = "no_mfa"
                raise _deferred_failure(session)
            try:
                seed = ws.keyring.open_secret(row.totp_secret_sealed, TOTP_PURPOSE + row.name)
            except DecryptionFailed as exc:
                op.details["reason"] = "mfa_corrupt"
                raise _deferred_failure(session) from exc
            try:
                step = credentials.match_totp(seed, otp, now.timestamp(), row.totp_last_step)
            except AuthenticationFailed as exc:
                row.failed_logins += 1
                op.details["reason"] = "otp_replayed" if exc.code == "auth.otp_replayed" else "otp"
                raise _deferred_failure(session) from exc
            # Claim the step with a compare-and-set: two logins racing with one code (on
            # PostgreSQL, where reads take no lock) must not both pass the check above.
            claimed = cast(
                "CursorResult[Any]",
                session.execute(
                    update(PrincipalRow)
                    .where(
                        PrincipalRow.id == row.id,
                        or_(
                            PrincipalRow.totp_last_step.is_(None),
                            PrincipalRow.totp_last_step < step,
                        ),
                    )
                    .values(totp_last_step=step)
                    .execution_options(synchronize_session=False)
                ),
            ).rowcount
            if claimed != 1:
                row.failed_logins += 1
                op.details["reason"] = "otp_replayed"
                raise _deferred_failure(session)
            if row.disabled:
                # Said only to someone who proved both factors.
                op.details["reason"] = "disabled"
                raise _deferred_failure(session, code="auth.principal_disabled")
            row.totp_last_step = step
            row.failed_logins = 0
            row.last_used_at = now
            token = credentials.mint_token(credentials.SESSION_KIND)
            expires = now + timedelta(seconds=ws.settings.session_ttl_seconds)
            session.add(
                SessionRow(
                    prefix=token.prefix,
                    token_hash=credentials.token_digest(ws.keyring.keyed_hash, token, row.id),
                    principal_id=row.id,
                    source=ctx.source,
                    created_at=now,
                    expires_at=expires,
                )
            )
        op.details.update({"mfa": True, "session": token.prefix})
        return SessionGrant(token.full, name, expires)


LOGIN_HINT = (
    "Check the user name and password, and use a fresh code from your authenticator: "
    "each code works once."
)


def _deferred_failure(session: Session, code: str = "auth.failed") -> AuthenticationFailed:
    """One answer for every failed factor, so a refusal never confirms a correct password.

    The precise reason goes to the audit log only. Failure counters must persist even
    though the login fails, so they are committed first.
    """
    session.commit()
    return AuthenticationFailed("invalid credentials", code=code, hint=LOGIN_HINT)


def authenticate_session(ws: Workspace, ctx: Context, presented: str) -> Principal:
    """Turn a session token into a Principal, or raise (audited)."""
    parts = presented.strip().split("_", 2)
    prefix = parts[1][:16] if len(parts) == 3 else "?"
    with operation(ws, ctx, "auth.session", permission=None, resource=f"session/{prefix}") as op:
        token = credentials.parse_token(presented, credentials.SESSION_KIND)
        now = ctx.clock.now()
        with transaction(ws.sessions) as session:
            row = session.scalar(select(SessionRow).where(SessionRow.prefix == token.prefix))
            expected = row.token_hash if row else "0" * 64
            presented_digest = credentials.token_digest(
                ws.keyring.keyed_hash, token, row.principal_id if row else 0
            )
            if row is None or not credentials.same_hash(expected, presented_digest):
                raise AuthenticationFailed("invalid credentials")
            owner = session.get(PrincipalRow, row.principal_id)
            if owner is not None:
                op.actor = owner.name
            if row.revoked_at is not None or row.expires_at <= now:
                raise SessionExpired("the session has expired or was revoked")
            if owner is None or owner.disabled:
                raise AuthenticationFailed("invalid credentials", code="auth.principal_disabled")
            return Principal(
                id=owner.id,
                name=owner.name,
                kind=PrincipalKind(owner.kind),
                role=owner.role,
                auth=AuthMethod.MFA_SESSION,
                credential_id=row.prefix,
            )


def logout(ws: Workspace, ctx: Context, presented: str) -> None:
    """Revoke a session server-side: its token stops working everywhere."""
    parts = presented.strip().split("_", 2)
    prefix = parts[1][:16] if len(parts) == 3 else "?"
    with operation(ws, ctx, "auth.logout", permission=None, resource=f"session/{prefix}"):
        token = credentials.parse_token(presented, credentials.SESSION_KIND)
        with transaction(ws.sessions) as session:
            row = session.scalar(select(SessionRow).where(SessionRow.prefix == token.prefix))
            if row is None or not credentials.same_hash(
                row.token_hash,
                credentials.token_digest(ws.keyring.keyed_hash, token, row.principal_id),
            ):
                raise AuthenticationFailed("invalid credentials")
            if row.revoked_at is None:
                row.revoked_at = ctx.clock.now()
