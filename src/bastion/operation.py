"""The operation path: authorize on entry, audit on exit, whatever the outcome.

Every service function runs its body inside :func:`operation`::

    with operation(ws, ctx, "user.create", permission="user:create",
                   resource=f"principal/{name}") as op:
        ...
        op.details["role"] = role

Denials (authentication or permission), errors and successes all produce exactly one
audit event. Interfaces call services; they never open operations or the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bastion.audit.events import EventDraft, Outcome
from bastion.clock import to_micros
from bastion.context import Context
from bastion.db.engine import transaction
from bastion.errors import AuditError, AuthenticationFailed, BastionError, PermissionDenied
from bastion.identity.access import authorize

if TYPE_CHECKING:
    from bastion.workspace import Workspace


@dataclass
class Operation:
    """Handle given to the body of an operation: add details, name the resource."""

    action: str
    resource: str
    details: dict[str, Any] = field(default_factory=dict)
    # Authentication operations name the principal they concern, not the caller.
    actor: str | None = None


@contextmanager
def operation(
    ws: Workspace,
    ctx: Context,
    action: str,
    *,
    permission: str | None,
    resource: str = "",
) -> Iterator[Operation]:
    """Authorize ``permission`` for ``ctx.principal``, run the body, audit the outcome.

    ``permission=None`` is for self-service actions that need only an authenticated
    principal (logout, re-enrolling one's own MFA) and for authentication itself.
    """
    op = Operation(action=action, resource=resource)
    if permission:
        op.details["permission"] = permission
    outcome = Outcome.SUCCESS
    try:
        if permission:
            with transaction(ws.sessions) as session:
                authorize(session, ctx.principal, permission, resource)
        yield op
    except (AuthenticationFailed, PermissionDenied) as exc:
        outcome = Outcome.DENIED
        op.details["error"] = exc.code
        raise
    except BastionError as exc:
        outcome = Outcome.ERROR
        op.details["error"] = exc.code
        raise
    except Exception as exc:
        outcome = Outcome.ERROR
        op.details["error"] = type(exc).__name__
        raise
    finally:
        draft = EventDraft(
            ts_us=to_micros(ctx.clock.now()),
            # Bounded to the column sizes: attacker-chosen names must not break the write.
            actor=(op.actor or ctx.principal.name)[:128],
            action=action[:128],
            resource=op.resource[:512],
            outcome=outcome.value,
            source=ctx.source[:128],
            request_id=ctx.request_id[:64],
            details=op.details,
        )
        try:
            ws.audit.append(draft)
        except BastionError as exc:
            raise AuditError(f"could not record {action} in the audit log: {exc}") from exc
