"""Verify the chain: recompute every hash, check sequence numbers, the head and every
signed checkpoint. Large logs are verified in parallel ranges, one process per core.

Verification raises :class:`AuditChainBroken` naming each bad event; it never returns a
bool that a caller could forget to check.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bastion.audit.events import CHAIN_VERSION, GENESIS_HASH
from bastion.audit.store import AuditStore, iter_event_rows, verify_checkpoint_signature
from bastion.errors import AuditChainBroken, AuditError

MAX_REPORTED = 100
# Below this many events, forking workers costs more than it saves.
PARALLEL_THRESHOLD = 50_000


@dataclass(frozen=True)
class Issue:
    """One problem found, tied to the sequence number it concerns."""

    seq: int
    kind: str
    message: str


@dataclass
class VerificationReport:
    """What verification covered and what it found."""

    events: int = 0
    last_seq: int = 0
    head_hash: str = GENESIS_HASH.hex()
    checkpoints: int = 0
    last_checkpoint_seq: int = 0
    issues: list[Issue] = field(default_factory=list)
    issue_count: int = 0
    workers: int = 1

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return self.issue_count == 0

    def add(self, seq: int, kind: str, message: str) -> None:
        """Record an issue (the first MAX_REPORTED are kept in full)."""
        self.issue_count += 1
        if len(self.issues) < MAX_REPORTED:
            self.issues.append(Issue(seq, kind, message))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


@dataclass
class _RangeResult:
    events: int = 0
    last_seq: int = 0
    last_hash: bytes = GENESIS_HASH
    issues: list[tuple[int, str, str]] = field(default_factory=list)
    issue_count: int = 0
    seen: dict[int, str] = field(default_factory=dict)


def _scan(
    rows: Iterable[Sequence[Any]], prev_seq: int, prev: bytes, wanted: frozenset[int]
) -> _RangeResult:
    """Check a run of rows that follows event ``prev_seq`` whose stored hash is ``prev``."""
    out = _RangeResult()
    sha256 = hashlib.sha256
    version = CHAIN_VERSION
    expected = prev_seq + 1
    count = 0
    for seq, ts_us, body, stored in rows:
        count += 1
        if seq != expected:
            out.issue_count += 1
            if len(out.issues) < MAX_REPORTED:
                out.issues.append(
                    (
                        expected,
                        "missing",
                        f"events {expected}..{seq - 1} are missing: deleted from the log",
                    )
                )
        if sha256(version + b"%d %d " % (seq, ts_us) + prev + body.encode()).digest() != stored:
            out.issue_count += 1
            if len(out.issues) < MAX_REPORTED:
                out.issues.append(
                    (
                        seq,
                        "modified",
                        (
                            f"event {seq} does not match its hash: it was modified, or the event "
                            f"before it was modified and re-hashed, or events were inserted or "
                            "reordered here"
                        ),
                    )
                )
        if seq in wanted:
            out.seen[seq] = bytes(stored).hex()
        prev, expected = stored, seq + 1
    out.events = count
    out.last_seq = expected - 1
    out.last_hash = bytes(prev)
    return out


def _scan_in_child(
    url: str, start: int, stop: int, prev_seq: int, prev: bytes, wanted: frozenset[int]
) -> tuple[int, int]:
    """Fork a child that scans ``[start, stop]`` and reports on a pipe: (pid, read fd).

    The child opens its own engine, never touches the parent's connections, and leaves
    with ``os._exit`` so that nothing inherited is cleaned up twice.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_fd)
        return pid, read_fd
    status = 1
    try:
        os.close(read_fd)
        from bastion.db.engine import create_engine_for

        engine = create_engine_for(url)
        part = _scan(iter_event_rows(engine, start, stop), prev_seq, prev, wanted)
        payload = json.dumps(
            {
                "events": part.events,
                "last_seq": part.last_seq,
                "last_hash": part.last_hash.hex(),
                "issues": part.issues,
                "issue_count": part.issue_count,
                "seen": {str(k): v for k, v in part.seen.items()},
            }
        ).encode()
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _collect_child(pid: int, read_fd: int) -> _RangeResult:
    with os.fdopen(read_fd, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        raise AuditError("a verification worker failed", code="audit.verify_failed")
    doc = json.loads(payload)
    return _RangeResult(
        events=doc["events"],
        last_seq=doc["last_seq"],
        last_hash=bytes.fromhex(doc["last_hash"]),
        issues=[(int(a), str(b), str(c)) for a, b, c in doc["issues"]],
        issue_count=doc["issue_count"],
        seen={int(k): v for k, v in doc["seen"].items()},
    )


def can_fork_workers() -> bool:
    """Forking is safe only from a single-threaded process (see AuditWriter.quiesced)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def _ranges(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    size = (high - low + parts) // parts
    return [(a, min(a + size - 1, high)) for a in range(low, high + 1, size)]


def scan_log(
    store: AuditStore, public_key: Ed25519PublicKey, key_id: str, *, workers: int | None = None
) -> VerificationReport:
    """Walk the chain and collect every issue without raising."""
    report = VerificationReport()
    # The head is read first and the walk stops there, so events appended while we
    # verify are neither checked nor mistaken for tampering.
    head_seq, head_hash = store.head()
    anchors = store.anchors()
    every_checkpoint = store.checkpoints()
    checkpoints = [cp for cp in every_checkpoint if cp.seq <= head_seq]
    wanted = frozenset([cp.seq for cp in checkpoints] + [int(a["seq"]) for a in anchors])
    low, high, count = store.seq_bounds()
    high = min(high, head_seq)
    if workers is None:
        workers = min(os.cpu_count() or 1, 8) if count >= PARALLEL_THRESHOLD else 1
    if not can_fork_workers() or store.engine.url.database in (None, "", ":memory:"):
        workers = 1

    results: list[_RangeResult]
    if workers <= 1 or count == 0:
        results = [_scan(store.iter_rows(1, head_seq), 0, GENESIS_HASH, wanted)]
    else:
        # The first range starts from genesis, so a deleted first event is still caught.
        spans = _ranges(low, high, workers)
        starts: list[tuple[int, bytes]] = [(0, GENESIS_HASH)]
        for a, _ in spans[1:]:
            before = store.hash_before(a)
            starts.append(before if before else (0, GENESIS_HASH))
        url = store.engine.url.render_as_string(hide_password=False)
        spans[0] = (1, spans[0][1])
        # Children take every range but the first; this process scans the first meanwhile.
        children = [
            _scan_in_child(url, a, b, ps, ph, wanted)
            for (a, b), (ps, ph) in zip(spans[1:], starts[1:], strict=True)
        ]
        try:
            first = _scan(store.iter_rows(spans[0][0], spans[0][1]), 0, GENESIS_HASH, wanted)
        finally:
            rest = [_collect_child(pid, fd) for pid, fd in children]
        results = [first, *rest]
        report.workers = len(spans)

    seen: dict[int, str] = {}
    last_seq, last_hash = 0, GENESIS_HASH
    for part in results:
        for seq, kind, message in part.issues:
            report.add(seq, kind, message)
        report.issue_count += part.issue_count - len(part.issues)
        report.events += part.events
        seen.update(part.seen)
        if part.events:
            last_seq, last_hash = part.last_seq, part.last_hash
    report.last_seq = last_seq
    report.head_hash = last_hash.hex()

    if head_seq != last_seq or head_hash != last_hash:
        report.add(
            last_seq,
            "head_mismatch",
            f"the log ends at event {last_seq} but its head records event {head_seq}: "
            "events at the end were deleted, or added behind the writer's back",
        )
    for cp in checkpoints:
        report.checkpoints += 1
        report.last_checkpoint_seq = max(report.last_checkpoint_seq, cp.seq)
        if cp.key_id != key_id or not verify_checkpoint_signature(
            public_key, cp.seq, cp.hash, cp.ts_us, cp.signature
        ):
            report.add(
                cp.seq, "bad_checkpoint", f"checkpoint at event {cp.seq} has an invalid signature"
            )
        elif cp.seq not in seen:
            report.add(
                cp.seq,
                "truncated",
                f"signed checkpoint names event {cp.seq}, which is no longer in the log",
            )
        elif seen[cp.seq] != cp.hash:
            report.add(
                cp.seq,
                "rewritten",
                f"the chain at event {cp.seq} differs from its signed checkpoint: "
                "events up to it were rewritten",
            )
    # A checkpoint beyond the head we read is either a concurrent append (the head has
    # moved on since) or evidence that the tail was cut off together with the head.
    beyond = sorted(
        {cp.seq for cp in every_checkpoint if cp.seq > head_seq}
        | {int(a["seq"]) for a in anchors if int(a["seq"]) > head_seq}
    )
    if beyond:
        current_head = store.head()[0]
        for seq in beyond:
            if seq > current_head:
                report.add(
                    seq,
                    "truncated",
                    f"signed checkpoint names event {seq}, beyond the log's end "
                    f"(event {current_head}): the tail was deleted",
                )
    # The head caches the newest checkpoint; raising it would silently stop checkpoints.
    recorded = store.head_checkpoint_seq()
    if recorded > max((cp.seq for cp in every_checkpoint), default=0):
        # Re-read: a checkpoint may have been signed while we were walking.
        newest = max((cp.seq for cp in store.checkpoints()), default=0)
        if recorded > newest:
            report.add(
                recorded,
                "head_mismatch",
                f"the head records a checkpoint at event {recorded}, but the newest "
                f"signed checkpoint is at event {newest}: checkpoints would stop",
            )
    _check_anchors(report, anchors, checkpoints, seen, head_seq, public_key, key_id)
    return report


def _check_anchors(
    report: VerificationReport,
    anchors: list[dict[str, Any]],
    checkpoints: Sequence[Any],
    seen: dict[int, str],
    head_seq: int,
    public_key: Ed25519PublicKey,
    key_id: str,
) -> None:
    """Every checkpoint copied to the local anchor file must still be in the database."""
    in_db = {cp.seq: cp.hash for cp in checkpoints}
    for anchor in anchors:
        seq, digest = int(anchor["seq"]), str(anchor["hash"])
        if (
            seq <= 0
            or anchor["key_id"] != key_id
            or not verify_checkpoint_signature(
                public_key, seq, digest, int(anchor["ts_us"]), str(anchor["signature"])
            )
        ):
            report.add(
                max(seq, 0),
                "bad_anchor",
                "a line of the checkpoint anchor file is damaged or forged",
            )
        elif seq > head_seq:
            continue  # judged with the other checkpoints beyond the head
        elif in_db.get(seq) != digest:
            report.add(
                seq,
                "checkpoint_deleted",
                f"signed checkpoint at event {seq} was removed from the database",
            )
        elif seen.get(seq) != digest:
            report.add(
                seq, "rewritten", f"the chain at event {seq} differs from its anchored checkpoint"
            )


def verify_log(
    store: AuditStore, public_key: Ed25519PublicKey, key_id: str, *, workers: int | None = None
) -> VerificationReport:
    """Check the whole log; return the report if intact, else raise AuditChainBroken."""
    report = scan_log(store, public_key, key_id, workers=workers)
    if not report.ok:
        first = report.issues[0]
        raise AuditChainBroken(
            f"audit log verification failed: {report.issue_count} problem(s); "
            f"first at event {first.seq}: {first.message}",
            details=report.as_dict(),
        )
    return report
