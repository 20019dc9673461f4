"""Parallel verification must find exactly what the sequential walk finds."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, update

from bastion.audit.events import EventDraft
from bastion.audit.verify import scan_log
from bastion.db.models import AuditEventRow
from tests.conftest import Env


def _fill(env: Env, n: int) -> None:
    env.ws.audit_store.append_batch(
        [
            EventDraft(
                ts_us=10 + i,
                actor="p",
                action="x.y",
                resource=f"r/{i}",
                outcome="success",
                source="s",
                request_id=str(i),
                details={"i": i},
            )
            for i in range(n)
        ]
    )
    env.ws.audit_store.checkpoint(99)


def _kinds(env: Env, workers: int) -> list[tuple[int, str]]:
    s = env.ws.audit_store
    with env.ws.audit.quiesced():
        report = scan_log(s, s.signer.public_key, s.signer.key_id, workers=workers)
    assert report.workers == workers
    return sorted((i.seq, i.kind) for i in report.issues)


@pytest.mark.slow
def test_parallel_and_sequential_agree(env: Env) -> None:
    sqlite_env = env  # runs on SQLite and PostgreSQL
    first = sqlite_env.ws.audit_store.head()[0] + 1
    _fill(sqlite_env, 400)
    assert _kinds(sqlite_env, 2) == [] == _kinds(sqlite_env, 1)
    low, high, _ = sqlite_env.ws.audit_store.seq_bounds()
    boundary = low + (high - low + 2) // 2  # first seq of the second range
    with sqlite_env.ws.engine.begin() as conn:
        conn.execute(delete(AuditEventRow).where(AuditEventRow.seq == boundary))
        conn.execute(
            update(AuditEventRow)
            .where(AuditEventRow.seq == first + 2)
            .values(body=func.replace(AuditEventRow.body, '"x.y"', '"x.z"'))
        )
    sequential = _kinds(sqlite_env, 1)
    assert sequential == _kinds(sqlite_env, 2)
    assert (first + 2, "modified") in sequential
    assert (boundary, "missing") in sequential


def test_no_fork_while_other_threads_run(sqlite_env: Env) -> None:
    """With the writer thread alive, verification stays in one process (fork is unsafe)."""
    _fill(sqlite_env, 50)
    sqlite_env.ws.audit.flush()
    s = sqlite_env.ws.audit_store
    sqlite_env.ws.audit.append(
        EventDraft(
            ts_us=1,
            actor="p",
            action="x.y",
            resource="r",
            outcome="success",
            source="s",
            request_id="r",
        )
    )
    report = scan_log(s, s.signer.public_key, s.signer.key_id, workers=2)
    assert report.workers == 1 and report.ok
