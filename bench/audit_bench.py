"""Audit log throughput on the embedded SQLite default; prints one JSON document.

Measures, in one run:
  * appends/s through the group-commit writer with many concurrent producers, every
    append waited for until durable (WAL, synchronous=FULL: the commit is fsynced);
  * appends/s of the same writer driven one event at a time by a single producer (the
    baseline: one transaction and one fsync per event, what a naive logger does);
  * verified events/s for a full `audit verify` (recompute every hash, check every link
    and checkpoint signature), with forked range workers (one per core) and, as the
    baseline, in one process.
Goals from the foundation issue: >= 20,000 appends/s durable, >= 200,000 verified/s.

Usage: python bench/audit_bench.py [--events N] [--producers P]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
from pathlib import Path

from bastion.audit.events import EventDraft
from bastion.audit.store import AuditStore, Signer
from bastion.audit.verify import verify_log
from bastion.audit.writer import AuditWriter
from bastion.config import Secret, Settings
from bastion.crypto.keyring import generate_master_key
from bastion.workspace import create_workspace


def _draft(i: int) -> EventDraft:
    return EventDraft(
        ts_us=1_700_000_000_000_000 + i,
        actor=f"svc-{i % 17}",
        action="model.predict",
        resource=f"model/fraud-v{i % 3}",
        outcome="success" if i % 10 else "denied",
        source=f"10.0.{i % 250}.{i % 200}",
        request_id=f"{i:032x}",
        details={"latency_ms": i % 97, "status": 200, "batch": i % 8},
    )


def _concurrent(writer: AuditWriter, total: int, producers: int) -> float:
    per = total // producers

    def produce(offset: int) -> None:
        # Each producer keeps a window of in-flight appends, as gateway workers do.
        window = 64
        pending = []
        for i in range(offset, offset + per):
            pending.append(writer.submit(_draft(i)))
            if len(pending) >= window:
                for f in pending:
                    f.result()
                pending.clear()
        for f in pending:
            f.result()

    threads = [threading.Thread(target=produce, args=(p * per,)) for p in range(producers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (per * producers) / (time.perf_counter() - start)


def _sequential(writer: AuditWriter, total: int) -> float:
    start = time.perf_counter()
    for i in range(total):
        writer.append(_draft(i))
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--producers", type=int, default=16)
    parser.add_argument("--baseline-events", type=int, default=2_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            workspace=Path(tmp),
            master_key=Secret(generate_master_key()),
            state_dir=Path(tmp) / "state",
        )
        ws, _ = create_workspace(settings)
        store: AuditStore = ws.audit_store
        signer: Signer = store.signer

        baseline_writer = AuditWriter(store)
        baseline = _sequential(baseline_writer, args.baseline_events)
        baseline_writer.close()

        writer = AuditWriter(store, batch_max=settings.audit_batch_max)
        grouped = _concurrent(writer, args.events, args.producers)
        writer.close()

        def verify_rate(workers: int | None) -> tuple[float, int, int]:
            start = time.perf_counter()
            report = verify_log(store, signer.public_key, signer.key_id, workers=workers)
            return report.events / (time.perf_counter() - start), report.events, report.workers

        # Three runs each; the machine is shared, so the median is what we quote.
        single = sorted(verify_rate(1)[0] for _ in range(3))
        runs = [verify_rate(None) for _ in range(3)]
        parallel = sorted(r[0] for r in runs)
        verified, workers = runs[0][1], runs[0][2]
        checkpoints = len(store.checkpoints())
        ws.close()

    print(
        json.dumps(
            {
                "benchmark": "audit",
                "database": "sqlite (WAL, synchronous=FULL)",
                "python": platform.python_version(),
                "events": args.events,
                "producers": args.producers,
                "append_group_commit_per_s": round(grouped),
                "append_one_per_commit_per_s": round(baseline),
                "group_commit_speedup": round(grouped / baseline, 1),
                "verify_events_per_s": round(parallel[1]),
                "verify_events_per_s_runs": [round(r) for r in parallel],
                "verify_workers": workers,
                "verify_one_process_per_s": round(single[1]),
                "verified_events": verified,
                "checkpoints": checkpoints,
                "goals": {"append_per_s": 20_000, "verify_per_s": 200_000},
                "goals_met": {"append": grouped >= 20_000, "verify": parallel[1] >= 200_000},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
