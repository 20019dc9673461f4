"""The periodic access review: who holds what, what they use, what should be cut."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bastion.audit.store import AuditQuery
from bastion.clock import to_micros
from bastion.context import Context, PrincipalKind
from bastion.db.engine import transaction
from bastion.db.models import ApiKeyRow, PrincipalRow, RoleRow
from bastion.identity.permissions import ADMIN_PERMISSIONS
from bastion.identity.policy import DEFAULT_ROLES, expand
from bastion.operation import operation
from bastion.workspace import Workspace

STALE_AFTER = timedelta(days=90)


@dataclass
class KeyReview:
    """One API key's standing."""

    prefix: str
    state: str
    last_used_at: str | None
    expires_at: str | None
    unused_90d: bool
    unscoped: bool


@dataclass
class PrincipalReview:
    """One principal's effective access and the findings against it."""

    name: str
    kind: str
    role: str
    disabled: bool
    mfa_enrolled: bool
    last_used_at: str | None
    effective_permissions: list[str]
    used_permissions: list[str]
    unused_permissions: list[str]
    keys: list[KeyReview] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)


def _beyond_default(role: str, grants: list[str]) -> list[str]:
    """Grants a built-in role holds beyond its shipped definition."""
    if role not in DEFAULT_ROLES:
        return []
    default = set(expand(DEFAULT_ROLES[role][1]))
    # A resource-limited grant of a permission the default holds in full narrows the role.
    return [g for g in expand(grants) if g.partition("@")[0] not in default]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def access_review(ws: Workspace, ctx: Context) -> list[dict[str, Any]]:
    """Review every principal against its role and its last 90 days of audited activity."""
    with operation(
        ws, ctx, "access.review", permission="access:review", resource="principal/*"
    ) as op:
        now = ctx.clock.now()
        since = to_micros(now - STALE_AFTER)
        with transaction(ws.sessions) as session:
            roles = {r.name: list(r.permissions) for r in session.scalars(select(RoleRow))}
            principals = session.scalars(select(PrincipalRow).order_by(PrincipalRow.name)).all()
            keys = session.scalars(select(ApiKeyRow)).all()
        used: dict[str, set[str]] = {}
        for event in ws.audit_store.query(AuditQuery(outcome="success", since_us=since)):
            permission = event.details_dict().get("permission")
            if permission:
                used.setdefault(event.actor, set()).add(permission)

        reviews: list[PrincipalReview] = []
        for p in principals:
            effective = expand(roles.get(p.role, []))
            if p.kind == PrincipalKind.SERVICE.value:
                effective = [e for e in effective if e.partition("@")[0] not in ADMIN_PERMISSIONS]
            mine = sorted(used.get(p.name, set()))
            review = PrincipalReview(
                name=p.name,
                kind=p.kind,
                role=p.role,
                disabled=p.disabled,
                mfa_enrolled=p.mfa_enrolled_at is not None,
                last_used_at=_iso(p.last_used_at),
                effective_permissions=effective,
                used_permissions=mine,
                unused_permissions=[e for e in effective if e.partition("@")[0] not in set(mine)],
            )
            for k in (k for k in keys if k.principal_id == p.id):
                state = (
                    "revoked"
                    if k.revoked_at
                    else "expired"
                    if k.expires_at and k.expires_at <= now
                    else "active"
                )
                reference = k.last_used_at or k.created_at
                kr = KeyReview(
                    prefix=k.prefix,
                    state=state,
                    last_used_at=_iso(k.last_used_at),
                    expires_at=_iso(k.expires_at),
                    unused_90d=state == "active" and now - reference >= STALE_AFTER,
                    # A "*" scope narrows nothing: the key holds the whole role.
                    unscoped=not k.scopes or "*" in k.scopes,
                )
                review.keys.append(kr)
                if kr.unused_90d:
                    review.findings.append(f"key {k.prefix} unused for 90 days: revoke it")
                if state == "expired":
                    review.findings.append(f"key {k.prefix} expired: remove or rotate it")
                if state == "active" and p.disabled:
                    review.findings.append(f"key {k.prefix} is active on a disabled principal")
            if p.kind == PrincipalKind.USER.value and p.mfa_enrolled_at is None:
                review.findings.append("human user without MFA")
            if not p.disabled and now - (p.last_used_at or p.created_at) >= STALE_AFTER:
                review.findings.append("inactive for 90 days: disable it")
            extra = _beyond_default(p.role, roles.get(p.role, []))
            if extra:
                review.findings.append(
                    f"role {p.role} grants more than its default: {', '.join(extra)}"
                )
            # Usage only says something once there are 90 days of it to look at.
            if now - p.created_at >= STALE_AFTER and review.unused_permissions and mine:
                review.findings.append(
                    f"holds more than it uses: {len(review.unused_permissions)} of "
                    f"{len(effective)} permissions unused in 90 days; consider a narrower role"
                )
            if p.kind == PrincipalKind.SERVICE.value and any(
                kr.unscoped and kr.state == "active" for kr in review.keys
            ):
                review.findings.append(
                    "service account key without scopes: scope it to what it calls"
                )
            reviews.append(review)
        op.details["principals"] = len(reviews)
        op.details["findings"] = sum(len(r.findings) for r in reviews)
        return [asdict(r) for r in reviews]
