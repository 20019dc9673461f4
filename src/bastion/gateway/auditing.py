"""One audit event per gateway request, batched before the audit log's group commit.

Requests add their event to a batch; every ``flush_ms`` the batch goes to the
workspace's writer in one go, so it lands in one transaction (one fsync) instead of
one each. A commit costs about 1.6 ms of CPU on the project machine, so batching is
what lets a busy gateway audit every request.

- ``audit_wait = true``: a response waits until its event is durable (strict: nothing
  answered can be missing from the log after a crash), at the cost of ``flush_ms`` plus
  a commit in latency. The writer's callback wakes the event loop; no thread waits.
- ``audit_wait = false`` (default): the response goes out at once and the event is
  durable within ``flush_ms`` plus a commit; a crash can lose the events of that window.

Either way the gateway fails closed: once a commit fails, every request is refused
(503 ``audit.error``) until a later batch commits again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bastion.audit.events import EventDraft, Outcome
from bastion.audit.writer import Receipt
from bastion.clock import to_micros
from bastion.errors import AuditError

if TYPE_CHECKING:
    from bastion.workspace import Workspace

log = logging.getLogger("bastion.gateway")


class RequestAuditor:
    """Batches request events; ``record`` returns at once or once durable."""

    def __init__(self, ws: Workspace, *, wait: bool, flush_ms: float = 10.0) -> None:
        self._writer = ws.audit
        self._clock = ws.clock
        self._wait = wait
        self._flush_s = max(flush_ms, 0.0) / 1000
        self._pending: list[EventDraft] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._failure: BaseException | None = None

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
        """Queue one event for one request; raise AuditError when the log is failing."""
        self._pending.append(
            EventDraft(
                ts_us=to_micros(self._clock.now()),
                actor=actor[:128],
                action=action,
                resource=resource[:512],
                outcome=outcome.value,
                source=source[:128],
                request_id=request_id[:64],
                details=details,
            )
        )
        loop = asyncio.get_running_loop()
        if self._timer is None:
            self._timer = loop.call_later(self._flush_s, self._flush, loop)
        if self._wait:
            done: asyncio.Future[None] = loop.create_future()
            self._waiters.append(done)
            await done  # raises AuditError if the batch's commit failed
        elif self._failure is not None:
            raise AuditError(f"the audit log is failing: {self._failure}")

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        drafts, self._pending = self._pending, []
        waiters, self._waiters = self._waiters, []
        try:
            receipts = [self._writer.submit(d) for d in drafts]
        except AuditError as exc:
            self._settle(waiters, exc)
            return
        remaining = [len(receipts)]

        def one_done() -> None:
            # Runs in the writer's thread: count down, then hand over to the loop.
            remaining[0] -= 1
            if remaining[0] == 0 and not loop.is_closed():
                loop.call_soon_threadsafe(self._committed, receipts, waiters)

        for receipt in receipts:
            receipt.add_done_callback(one_done)

    def _committed(self, receipts: list[Receipt], waiters: list[asyncio.Future[None]]) -> None:
        failure: BaseException | None = None
        for receipt in receipts:
            try:
                receipt.result(0)
            except AuditError as exc:
                failure = exc
        self._settle(waiters, failure)

    def _settle(self, waiters: list[asyncio.Future[None]], failure: BaseException | None) -> None:
        if failure is not None and self._failure is None:
            log.error("audit commit failed; refusing requests until it recovers: %s", failure)
        self._failure = failure
        for waiter in waiters:
            if waiter.done():
                continue
            if failure is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(AuditError(f"could not audit the request: {failure}"))

    def drain(self) -> None:
        """Hand every queued event to the writer now (at shutdown; then flush the writer)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        drafts, self._pending = self._pending, []
        for draft in drafts:
            self._writer.submit(draft)
