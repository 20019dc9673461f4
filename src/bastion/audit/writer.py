"""Group commit: many producers, one writer thread, one transaction per group of events.

Producers add events to the *open group*; the writer thread takes the whole group,
commits it in one transaction (one fsync) and wakes every producer of that group at
once. ``append()`` returns only after the event's group has committed, so a caller that
got a sequence number back can rely on it surviving a crash. Under load, everything
submitted while the previous commit was running goes into the next one, so the cost of
the fsync is shared by the whole group, and a producer's wait costs one list append and
one shared event instead of a future of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bastion.audit.events import EventDraft
from bastion.audit.store import AuditStore
from bastion.errors import AuditError


class _Group:
    """Events committed together, and the outcome their producers wait for."""

    __slots__ = ("callbacks", "done", "error", "items", "lock", "seqs")

    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []
        self.seqs: list[int] = []
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.callbacks: list[Callable[[], None]] = []
        self.lock = threading.Lock()

    def finish(self) -> None:
        """Mark the group committed (or failed) and run the callbacks, once each."""
        with self.lock:
            self.done.set()
            callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()


class Receipt:
    """A submitted event: ``result()`` waits until it is durable and returns its seq."""

    __slots__ = ("_group", "_index")

    def __init__(self, group: _Group, index: int) -> None:
        self._group = group
        self._index = index

    def result(self, timeout: float | None = None) -> int:
        """The event's sequence number once committed; raises if the commit failed."""
        if not self._group.done.wait(timeout):
            raise AuditError("audit append timed out", code="audit.timeout")
        if self._group.error is not None:
            raise AuditError(f"audit append failed: {self._group.error}") from self._group.error
        return self._group.seqs[self._index]

    def done(self) -> bool:
        """True once the event's group was committed (or failed)."""
        return self._group.done.is_set()

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in the writer's thread, or now) once the group is settled.

        Lets an event loop wait for durability without a thread of its own: the callback
        hands the news over with ``loop.call_soon_threadsafe``. It must not raise or block.
        """
        group = self._group
        with group.lock:
            if not group.done.is_set():
                group.callbacks.append(callback)
                return
        callback()


class AuditWriter:
    """Thread-safe front-end to :class:`AuditStore` with group commit."""

    def __init__(self, store: AuditStore, *, batch_max: int = 2048) -> None:
        self._store = store
        self._batch_max = batch_max
        self._cond = threading.Condition()
        self._open = _Group()
        self._committing: _Group | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._joining = False
        self._closed = False

    def submit(self, draft: EventDraft) -> Receipt:
        """Queue an event; the receipt resolves to its seq once committed."""
        # Encode here, in the caller's thread, to keep the writer's critical path short.
        item = (draft.ts_us, draft.body())
        with self._cond:
            while self._joining:  # a stop is in progress: wait, then start afresh
                self._cond.wait()
            if self._closed:
                raise AuditError("audit writer is closed", code="audit.closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="bastion-audit", daemon=True)
                self._thread.start()
            group = self._open
            group.items.append(item)
            if len(group.items) == 1:
                self._cond.notify()
            return Receipt(group, len(group.items) - 1)

    def append(self, draft: EventDraft, timeout: float | None = 60.0) -> int:
        """Append one event and wait until it is durable; return its seq."""
        return self.submit(draft).result(timeout)

    def append_many(self, drafts: list[EventDraft]) -> list[int]:
        """Append several events and wait for all of them."""
        receipts = [self.submit(d) for d in drafts]
        return [r.result() for r in receipts]

    def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        with self._cond:
            groups = [g for g in (self._committing, self._open) if g is not None and g.items]
            if self._thread is None:
                return
        for group in groups:
            group.done.wait()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._open.items and not self._stopping:
                    self._cond.wait()
                if not self._open.items:
                    return  # stopping, and nothing left to commit
                group, self._open = self._open, _Group()
                self._committing = group
            self._commit(group)

    def _commit(self, group: _Group) -> None:
        try:
            for start in range(0, len(group.items), self._batch_max):
                group.seqs += self._store.append_encoded(
                    group.items[start : start + self._batch_max]
                )
        except BaseException as exc:  # every waiter must learn of the failure
            group.error = exc
        finally:
            group.finish()

    def _stop_thread(self) -> None:
        """Drain, then stop the thread. Called with ``self._cond`` held."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping = True
        self._joining = True
        self._cond.notify_all()
        self._cond.release()
        try:
            thread.join()
        finally:
            self._cond.acquire()
            self._stopping = False
            self._joining = False
            self._cond.notify_all()

    @contextmanager
    def quiesced(self) -> Iterator[None]:
        """Commit what is queued and stop the writer thread for a while.

        Lets a caller fork safely (a process with one thread); the next append starts
        the thread again.
        """
        with self._cond:
            self._stop_thread()
        yield

    def close(self, *, checkpoint_ts_us: int | None = None) -> None:
        """Flush what is queued, stop the thread, and sign the head if asked."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._stop_thread()
        if checkpoint_ts_us is not None:
            self._store.checkpoint(checkpoint_ts_us)
