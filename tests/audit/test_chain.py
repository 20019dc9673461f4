"""Known-answer vectors and tamper detection for the audit hash chain."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
from sqlalchemy import delete, func, select, update

from bastion.audit.events import CHAIN_VERSION, GENESIS_HASH, EventDraft, canonical_json, chain_hash
from bastion.audit.store import AuditQuery, AuditStore
from bastion.audit.verify import scan_log, verify_log
from bastion.db.models import AuditCheckpointRow, AuditEventRow, AuditHeadRow
from bastion.errors import AuditChainBroken
from tests.conftest import Env

N = 12


def _draft(i: int, **kw: object) -> EventDraft:
    base: dict[str, object] = dict(
        ts_us=1_770_000_000_000_000 + i,
        actor=f"user{i % 3}",
        action="model.predict",
        resource=f"model/m{i % 2}",
        outcome="success" if i % 4 else "denied",
        source="10.0.0.7",
        request_id=f"{i:032x}",
        details={"n": i, "tag": "é"},
    )
    base.update(kw)
    return EventDraft(**base)  # type: ignore[arg-type]


def test_known_answer_vector() -> None:
    draft = EventDraft(
        ts_us=1_700_000_000_000_000,
        actor="alice",
        action="user.create",
        resource="principal/bob",
        outcome="success",
        source="127.0.0.1",
        request_id="00" * 16,
        details={"role": "analyst", "b": [1, 2]},
    )
    body = draft.body()
    assert body == (
        '{"action":"user.create","actor":"alice","details":{"b":[1,2],"role":"analyst"},'
        '"outcome":"success","request_id":"00000000000000000000000000000000",'
        '"resource":"principal/bob","source":"127.0.0.1"}'
    )
    assert body == canonical_json(json.loads(body))
    expected = hashlib.sha256(
        b"bastion-audit-v1\n" + b"1 1700000000000000 " + bytes(32) + body.encode()
    ).digest()
    assert chain_hash(GENESIS_HASH, 1, 1_700_000_000_000_000, body) == expected
    assert CHAIN_VERSION == b"bastion-audit-v1\n"


def test_body_survives_hostile_strings() -> None:
    draft = _draft(1, actor='x"\\\n\u2028\ud800', details={"nan": float("nan"), 3: "int key"})
    doc = json.loads(draft.body())
    assert doc["actor"].startswith('x"\\\n\u2028')
    assert doc["details"]["nan"] == "nan"


def _fill(store: AuditStore) -> None:
    store.append_batch([_draft(i) for i in range(N)])


def _issues(env: Env) -> list[tuple[int, str]]:
    s = env.ws.audit_store
    report = scan_log(s, s.signer.public_key, s.signer.key_id, workers=1)
    return [(i.seq, i.kind) for i in report.issues]


def _verify(env: Env) -> None:
    s = env.ws.audit_store
    verify_log(s, s.signer.public_key, s.signer.key_id)


def test_untouched_log_verifies(env: Env) -> None:
    _fill(env.ws.audit_store)
    env.ws.audit_store.checkpoint(1)
    _verify(env)
    assert _issues(env) == []


def _base(env: Env) -> int:
    """Fill the log and return the seq of the first filled event."""
    first = env.ws.audit_store.head()[0] + 1
    _fill(env.ws.audit_store)
    return first


@pytest.mark.parametrize("offset", [0, 5, N - 1])
def test_modified_event_is_named(env: Env, offset: int) -> None:
    target = _base(env) + offset
    with env.ws.engine.begin() as conn:
        conn.execute(
            update(AuditEventRow)
            .where(AuditEventRow.seq == target)
            .values(body=func.replace(AuditEventRow.body, '"model.predict"', '"model.delete"'))
        )
    with pytest.raises(AuditChainBroken) as caught:
        _verify(env)
    assert (target, "modified") in _issues(env)
    assert f"event {target}" in caught.value.message
    assert caught.value.code == "audit.tampered"


def test_modified_timestamp_is_named(env: Env) -> None:
    target = _base(env) + 3
    with env.ws.engine.begin() as conn:
        conn.execute(
            update(AuditEventRow)
            .where(AuditEventRow.seq == target)
            .values(ts_us=AuditEventRow.ts_us + 1)
        )
    assert _issues(env) == [(target, "modified")]


def test_deleted_event_is_named(env: Env) -> None:
    target = _base(env) + 4
    with env.ws.engine.begin() as conn:
        conn.execute(delete(AuditEventRow).where(AuditEventRow.seq == target))
    found = _issues(env)
    assert (target, "missing") in found
    assert (target + 1, "modified") in found


def test_deleted_first_event_is_named(env: Env) -> None:
    _base(env)
    with env.ws.engine.begin() as conn:
        conn.execute(delete(AuditEventRow).where(AuditEventRow.seq == 1))
    assert (1, "missing") in _issues(env)


def test_inserted_event_is_named(env: Env) -> None:
    """Insert a forged event at `target`, renumbering the rest, with a valid-looking hash."""
    target = _base(env) + 6
    with env.ws.engine.begin() as conn:
        rows = (
            conn.execute(
                select(AuditEventRow.seq)
                .where(AuditEventRow.seq >= target)
                .order_by(AuditEventRow.seq.desc())
            )
            .scalars()
            .all()
        )
        for seq in rows:
            conn.execute(update(AuditEventRow).where(AuditEventRow.seq == seq).values(seq=seq + 1))
        prev = conn.execute(
            select(AuditEventRow.hash).where(AuditEventRow.seq == target - 1)
        ).scalar_one()
        forged = _draft(999, actor="mallory", action="user.create")
        body = forged.body()
        conn.execute(
            AuditEventRow.__table__.insert().values(
                seq=target,
                ts_us=forged.ts_us,
                body=body,
                hash=chain_hash(bytes(prev), target, forged.ts_us, body),
            )
        )
    found = _issues(env)
    assert (target + 1, "modified") in found
    assert found[0][0] >= target


def test_reordered_events_are_named(env: Env) -> None:
    a = _base(env) + 2
    b = a + 1
    with env.ws.engine.begin() as conn:
        row_a = conn.execute(
            select(AuditEventRow.body, AuditEventRow.hash, AuditEventRow.ts_us).where(
                AuditEventRow.seq == a
            )
        ).one()
        row_b = conn.execute(
            select(AuditEventRow.body, AuditEventRow.hash, AuditEventRow.ts_us).where(
                AuditEventRow.seq == b
            )
        ).one()
        conn.execute(
            update(AuditEventRow)
            .where(AuditEventRow.seq == a)
            .values(body=row_b.body, hash=row_b.hash, ts_us=row_b.ts_us)
        )
        conn.execute(
            update(AuditEventRow)
            .where(AuditEventRow.seq == b)
            .values(body=row_a.body, hash=row_a.hash, ts_us=row_a.ts_us)
        )
    found = _issues(env)
    assert (a, "modified") in found
    assert (b, "modified") in found


def _rewrite_history(env: Env, target: int, new_actor: str) -> None:
    """What an attacker with database write access can do: edit, then re-hash it all."""
    with env.ws.engine.begin() as conn:
        rows = conn.execute(
            select(AuditEventRow.seq, AuditEventRow.ts_us, AuditEventRow.body).order_by(
                AuditEventRow.seq
            )
        ).all()
        prev = GENESIS_HASH
        for seq, ts, body in rows:
            if seq == target:
                body = body.replace('"actor":"user', f'"actor":"{new_actor}')
            prev = chain_hash(prev, seq, ts, body)
            conn.execute(
                update(AuditEventRow).where(AuditEventRow.seq == seq).values(body=body, hash=prev)
            )
        conn.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(hash=prev))


def test_rewritten_history_is_caught_by_signed_checkpoint(env: Env) -> None:
    """An attacker with write access re-hashes the whole chain after editing an event."""
    first = _base(env)
    store = env.ws.audit_store
    signed = store.checkpoint(1_770_000_000_000_999)
    assert signed is not None
    _rewrite_history(env, first + 2, "nobody")
    found = _issues(env)
    assert (signed, "rewritten") in found
    assert all(kind != "modified" for _, kind in found)


def test_truncated_tail_is_caught(env: Env) -> None:
    _base(env)
    store = env.ws.audit_store
    signed = store.checkpoint(5)
    assert signed is not None
    with env.ws.engine.begin() as conn:
        conn.execute(delete(AuditEventRow).where(AuditEventRow.seq > signed - 3))
    found = _issues(env)
    assert (signed, "truncated") in found
    assert any(kind == "head_mismatch" for _, kind in found)


def test_forged_checkpoint_signature_is_caught(env: Env) -> None:
    _base(env)
    signed = env.ws.audit_store.checkpoint(5)
    assert signed is not None
    with env.ws.engine.begin() as conn:
        conn.execute(
            update(AuditCheckpointRow)
            .where(AuditCheckpointRow.seq == signed)
            .values(signature="00" * 64)
        )
    assert (signed, "bad_checkpoint") in _issues(env)


def test_checkpoints_are_written_periodically(env: Env) -> None:
    store = AuditStore(env.ws.engine, env.ws.audit_store.signer, checkpoint_every=5)
    for i in range(4):
        store.append_batch([_draft(i * 3 + k) for k in range(3)])
    cps = [cp.seq for cp in store.checkpoints()]
    assert cps, "a checkpoint must have been written"
    assert all(b - a >= 5 for a, b in itertools.pairwise(cps))
    _verify(env)


def test_query_filters(env: Env) -> None:
    store = env.ws.audit_store
    first = _base(env)
    store.append_batch([_draft(100, actor="x_%", action="data.read", resource="dataset/a_b")])
    assert [e.actor for e in store.query(AuditQuery(actor="x_%"))] == ["x_%"]
    assert len(store.query(AuditQuery(action="model.*"))) == N
    # LIKE wildcards in the prefix are literal, not patterns.
    assert store.query(AuditQuery(resource="dataset/a_*"))[0].resource == "dataset/a_b"
    assert store.query(AuditQuery(resource="dataset/a%*")) == []
    denied = store.query(AuditQuery(outcome="denied", action="model.predict"))
    assert {e.seq for e in denied} == {first + i for i in range(N) if i % 4 == 0}
    window = store.query(AuditQuery(since_us=1_770_000_000_000_003, until_us=1_770_000_000_000_005))
    assert [e.ts_us for e in window if e.action == "model.predict"] == [
        1_770_000_000_000_003,
        1_770_000_000_000_004,
        1_770_000_000_000_005,
    ]
    assert len(store.query(AuditQuery(limit=2))) == 2


def test_truncation_with_head_moved_back_is_caught(env: Env) -> None:
    _base(env)
    signed = env.ws.audit_store.checkpoint(5)
    assert signed is not None
    with env.ws.engine.begin() as conn:
        conn.execute(delete(AuditEventRow).where(AuditEventRow.seq > signed - 3))
        last = conn.execute(
            select(AuditEventRow.hash).where(AuditEventRow.seq == signed - 3)
        ).scalar_one()
        conn.execute(
            update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=signed - 3, hash=last)
        )
    assert (signed, "truncated") in _issues(env)


def test_deleted_checkpoints_are_caught_by_the_anchor_file(env: Env) -> None:
    """Rewrite history, re-hash everything, and delete the database checkpoints too."""
    first = _base(env)
    signed = env.ws.audit_store.checkpoint(7)
    assert signed is not None and env.ws.audit_store.anchor_path is not None
    assert env.ws.audit_store.anchor_path.stat().st_mode & 0o777 == 0o600
    with env.ws.engine.begin() as conn:
        conn.execute(delete(AuditCheckpointRow))
    _rewrite_history(env, first + 1, "ghost")
    assert (signed, "checkpoint_deleted") in _issues(env)


def test_forged_anchor_line_is_caught(env: Env) -> None:
    _base(env)
    env.ws.audit_store.checkpoint(7)
    path = env.ws.audit_store.anchor_path
    assert path is not None
    with path.open("a") as handle:
        handle.write('{"seq": 3, "hash": "00", "ts_us": 1, "key_id": "x", "signature": "00"}\n')
    assert (3, "bad_anchor") in _issues(env)


def test_verification_ignores_events_appended_after_it_read_the_head(env: Env) -> None:
    """Appends racing a verification must not look like tampering."""
    store = env.ws.audit_store
    _base(env)
    s = store
    head_seq, _ = s.head()
    real_head = s.head
    calls = {"n": 0}

    def head_then_append() -> tuple[int, bytes]:
        result = real_head()
        if calls["n"] == 0:
            s.append_batch([_draft(500 + i) for i in range(5)])
            s.checkpoint(9)
        calls["n"] += 1
        return result

    s.head = head_then_append  # type: ignore[method-assign]
    report = scan_log(s, s.signer.public_key, s.signer.key_id, workers=1)
    assert report.ok, report.issues
    assert report.last_seq == head_seq


def test_raised_checkpoint_marker_in_the_head_is_caught(env: Env) -> None:
    """Raising the head's checkpoint marker would stop all further checkpoints."""
    _base(env)
    with env.ws.engine.begin() as conn:
        conn.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(checkpoint_seq=10**9))
    assert (10**9, "head_mismatch") in _issues(env)
