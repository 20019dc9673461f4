"""Group commit: many producers, one writer thread, one transaction per batch.

``append()`` returns only after the event's batch has committed (durable), so a caller
that got a sequence number back can rely on it surviving a crash. Under load the writer
takes everything queued since its last commit into the next one, so the cost of the
fsync is shared by the whole batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

from bastion.audit.events import EventDraft
from bastion.audit.store import AuditStore
from bastion.errors import AuditError

_STOP = object()


class AuditWriter:
    """Thread-safe front-end to :class:`AuditStore` with batching."""

    def __init__(self, store: AuditStore, *, batch_max: int = 2048) -> None:
        self._store = store
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._closed:
                raise AuditError("audit writer is closed", code="audit.closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="bastion-audit", daemon=True)
                self._thread.start()

    def submit(self, draft: EventDraft) -> Future[int]:
        """Queue an event; the future resolves to its seq once committed."""
        self._ensure_thread()
        future: Future[int] = Future()
        self._queue.put((draft, future))
        return future

    def append(self, draft: EventDraft, timeout: float | None = 60.0) -> int:
        """Append one event and wait until it is durable; return its seq."""
        try:
            return self.submit(draft).result(timeout=timeout)
        except TimeoutError as exc:
            raise AuditError("audit append timed out", code="audit.timeout") from exc

    def append_many(self, drafts: list[EventDraft]) -> list[int]:
        """Append several events and wait for all of them."""
        futures = [self.submit(d) for d in drafts]
        return [f.result() for f in futures]

    def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        with self._lock:
            if self._closed or self._thread is None:
                # close() already drained the queue; nothing can be pending.
                return
        future: Future[int] = Future()
        self._queue.put((None, future))
        future.result()

    @contextmanager
    def quiesced(self) -> Iterator[None]:
        """Commit what is queued and stop the writer thread for a while.

        Lets a caller fork safely (a process with one thread); the next append starts
        the thread again.
        """
        # Holding the lock while the thread drains makes new submits wait for it, so the
        # stop marker cannot reach a second thread.
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(_STOP)
                thread.join()
        yield

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self._batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)  # type: ignore[arg-type]
            if stop:
                return

    def _commit(self, batch: list[tuple[EventDraft | None, Future[int]]]) -> None:
        # A None draft is a flush marker: it resolves once the events before it commit.
        drafts = [draft for draft, _ in batch if draft is not None]
        try:
            seqs = iter(self._store.append_batch(drafts))
        except BaseException as exc:  # every waiter must learn of the failure
            for _, future in batch:
                future.set_exception(exc)
            return
        for draft, future in batch:
            future.set_result(next(seqs) if draft is not None else 0)

    def close(self, *, checkpoint_ts_us: int | None = None) -> None:
        """Flush what is queued, stop the thread, and sign the head if asked."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()
        if checkpoint_ts_us is not None:
            self._store.checkpoint(checkpoint_ts_us)
