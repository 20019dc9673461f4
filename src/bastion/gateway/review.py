"""The human review queue: predictions the ensemble disagreed on, held for a person.

The gateway answers at once (flagged) and files the request here; a reviewer with
``model:review`` on an MFA session lists the pending items and approves or rejects each,
with a reason. The request's rows and every member's answer are sealed with the
keyring (they may be personal data); listings open them only for the reviewer, and
every listing and decision is audited.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bastion.context import AuthMethod, Context
from bastion.db.engine import transaction
from bastion.db.models import ReviewItemRow
from bastion.errors import Conflict, InvalidInput, MfaRequired, NotFound
from bastion.operation import operation

if TYPE_CHECKING:
    from bastion.workspace import Workspace

_PURPOSE = "gateway-review:"
STATUSES = ("pending", "approved", "rejected")
DECISIONS = {"approve": "approved", "reject": "rejected"}
MAX_REASON = 1000


@dataclass(frozen=True)
class NewReview:
    """What the ensemble guard files."""

    model: str
    version: int
    request_id: str
    principal: str
    source: str
    disagreement: float
    rows: list[Any]
    answers: dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class ReviewItem:
    """An item as a reviewer sees it."""

    id: str
    model: str
    version: int
    request_id: str
    principal: str
    source: str
    created_at: datetime
    disagreement: float
    status: str
    rows: list[Any]
    answers: dict[str, list[dict[str, Any]]]
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the HTTP API."""
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "request_id": self.request_id,
            "principal": self.principal,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
            "disagreement": self.disagreement,
            "status": self.status,
            "rows": self.rows,
            "answers": self.answers,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "reason": self.reason,
        }


def enqueue(ws: Workspace, item: NewReview, now: datetime) -> str:
    """File a disagreement (called by the gateway, which audits the request itself)."""
    item_id = secrets.token_hex(16)
    payload = json.dumps({"rows": item.rows, "answers": item.answers}, separators=(",", ":"))
    with transaction(ws.sessions) as session:
        session.add(
            ReviewItemRow(
                id=item_id,
                model=item.model[:128],
                version=item.version,
                request_id=item.request_id[:64],
                principal=item.principal[:128],
                source=item.source[:128],
                created_at=now,
                disagreement=item.disagreement,
                sealed=ws.keyring.seal_secret(payload.encode(), _PURPOSE + item_id),
                status="pending",
            )
        )
    return item_id


def _require_human(ctx: Context) -> None:
    # Reviewing sees the inputs people sent: a person, with MFA, never an API key.
    if ctx.principal.auth is not AuthMethod.MFA_SESSION:
        raise MfaRequired("the review queue is for people with an MFA session")


def _item(ws: Workspace, row: ReviewItemRow) -> ReviewItem:
    payload = json.loads(ws.keyring.open_secret(row.sealed, _PURPOSE + row.id))
    return ReviewItem(
        id=row.id,
        model=row.model,
        version=row.version,
        request_id=row.request_id,
        principal=row.principal,
        source=row.source,
        created_at=row.created_at,
        disagreement=row.disagreement,
        status=row.status,
        rows=payload["rows"],
        answers=payload["answers"],
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        reason=row.reason,
    )


def list_items(
    ws: Workspace, ctx: Context, *, status: str = "pending", limit: int = 100
) -> list[ReviewItem]:
    """Items in ``status``, oldest first."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", code="review.bad_status")
    with operation(ws, ctx, "review.list", permission="model:review", resource="review/*") as op:
        _require_human(ctx)
        with transaction(ws.sessions) as session:
            rows = session.scalars(
                select(ReviewItemRow)
                .where(ReviewItemRow.status == status)
                .order_by(ReviewItemRow.created_at, ReviewItemRow.id)
                .limit(max(1, min(limit, 1000)))
            ).all()
            items = [_item(ws, row) for row in rows]
        op.details.update(status=status, returned=len(items))
        return items


def decide(ws: Workspace, ctx: Context, item_id: str, decision: str, reason: str) -> ReviewItem:
    """Approve or reject a pending item, with a reason (audited)."""
    with operation(
        ws, ctx, "review.decide", permission="model:review", resource=f"review/{item_id[:64]}"
    ) as op:
        _require_human(ctx)
        if decision not in DECISIONS:
            raise InvalidInput("decision must be approve or reject", code="review.bad_decision")
        if not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidInput(
                f"a decision needs a reason (1 to {MAX_REASON} characters)",
                code="review.reason_missing",
            )
        with transaction(ws.sessions) as session:
            row = session.get(ReviewItemRow, item_id)
            if row is None:
                raise NotFound(f"no review item {item_id!r}", code="review.not_found")
            if row.status != "pending":
                raise Conflict(
                    f"review item {item_id} was already {row.status}", code="review.decided"
                )
            row.status = DECISIONS[decision]
            row.decided_by = ctx.principal.name
            row.decided_at = ctx.clock.now()
            row.reason = reason.strip()
            op.details.update(
                decision=row.status, model=f"{row.model}@{row.version}", request=row.request_id
            )
            return _item(ws, row)
