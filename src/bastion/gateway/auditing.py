"""One audit event per gateway request, written through the workspace's group-commit
writer. With ``audit_wait`` (the default) the response waits until its event is durable,
so no answered request is missing from the log after a crash; waiting costs no thread:
the writer's callback wakes the event loop."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from bastion.audit.events import EventDraft, Outcome
from bastion.clock import to_micros

if TYPE_CHECKING:
    from bastion.workspace import Workspace


class RequestAuditor:
    """Submits request events; ``record`` returns once durable (or at once)."""

    def __init__(self, ws: Workspace, *, wait: bool) -> None:
        self._writer = ws.audit
        self._clock = ws.clock
        self._wait = wait

    async def record(
        self,
        *,
        actor: str,
        action: str,
        resource: str,
        outcome: Outcome,
        source: str,
        request_id: str,
        details: dict[str, Any],
    ) -> None:
        """Write one event for one request."""
        draft = EventDraft(
            ts_us=to_micros(self._clock.now()),
            actor=actor[:128],
            action=action,
            resource=resource[:512],
            outcome=outcome.value,
            source=source[:128],
            request_id=request_id[:64],
            details=details,
        )
        receipt = self._writer.submit(draft)
        if not self._wait:
            return
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def settle() -> None:
            loop.call_soon_threadsafe(_resolve, done)

        receipt.add_done_callback(settle)
        await done
        receipt.result(0)  # raises AuditError if the commit failed


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
