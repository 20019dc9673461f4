"""Export formats: JSON Lines keeps the chain fields; OCSF maps auth and API classes."""

from __future__ import annotations

import json

import pytest

from bastion.audit import service
from bastion.audit.events import EventDraft
from bastion.audit.export import export_lines, to_ocsf
from bastion.audit.store import AuditQuery
from bastion.errors import InvalidInput
from tests.conftest import Env


def test_ocsf_mapping_for_auth_and_api_events(sqlite_env: Env) -> None:
    store = sqlite_env.ws.audit_store
    store.append_batch(
        [
            EventDraft(
                ts_us=1_700_000_000_123_456,
                actor="mallory",
                action="auth.login",
                resource="principal/mallory",
                outcome="denied",
                source="203.0.113.9",
                request_id="r1",
                details={"reason": "otp"},
            ),
            EventDraft(
                ts_us=1_700_000_000_200_000,
                actor="bob",
                action="key.revoke",
                resource="api_key/abcd",
                outcome="success",
                source="cli:0",
                request_id="r2",
                details={},
            ),
        ]
    )
    login, revoke = store.query(AuditQuery(until_us=1_700_000_001_000_000))
    auth = to_ocsf(login)
    assert (auth["class_uid"], auth["category_uid"], auth["activity_id"]) == (3002, 3, 1)
    assert auth["type_uid"] == 300201
    assert auth["status_id"] == 2 and auth["user"]["name"] == "mallory"
    assert auth["src_endpoint"] == {"ip": "203.0.113.9"}
    assert auth["time"] == 1_700_000_000_123
    api = to_ocsf(revoke)
    assert (api["class_uid"], api["category_uid"], api["activity_id"]) == (6003, 6, 4)
    assert api["api"]["operation"] == "key.revoke"
    assert api["resources"] == [{"name": "api_key/abcd"}]
    assert api["unmapped"]["hash"] == revoke.hash and api["status_id"] == 1


def test_jsonl_export_round_trips_the_chain_fields(sqlite_env: Env) -> None:
    events = sqlite_env.ws.audit_store.query(AuditQuery())
    lines = list(export_lines(events, "jsonl"))
    assert len(lines) == len(events) > 0
    first = json.loads(lines[0])
    assert first["seq"] == events[0].seq and first["hash"] == events[0].hash
    with pytest.raises(InvalidInput):
        list(export_lines(events, "xml"))


def test_export_needs_permission_and_is_audited(sqlite_env: Env) -> None:
    env = sqlite_env
    analyst = env.user("dana", "analyst")
    with pytest.raises(Exception) as caught:
        list(service.export(env.ws, analyst, "ocsf", AuditQuery()))
    assert getattr(caught.value, "code", "") == "access.denied"
    auditor = env.user("aud", "auditor")
    lines = list(service.export(env.ws, auditor, "ocsf", AuditQuery()))
    assert all(json.loads(line)["metadata"]["product"]["name"] == "Bastion" for line in lines)
    exports = env.ws.audit_store.query(AuditQuery(action="audit.export"))
    assert [(e.actor, e.outcome) for e in exports] == [("dana", "denied"), ("aud", "success")]


def test_filtered_export_reverifies_event_by_event(sqlite_env: Env) -> None:
    """A receiver holding only the export and hashlib can check each exported event."""
    import hashlib

    auditor = sqlite_env.user("aud2", "auditor")
    lines = list(service.export(sqlite_env.ws, auditor, "jsonl", AuditQuery(outcome="success")))
    assert len(lines) > 3
    for line in lines:
        rec = json.loads(line)
        digest = hashlib.sha256(
            b"bastion-audit-v1\n"
            + f"{rec['seq']} {rec['ts_us']} ".encode()
            + bytes.fromhex(rec["prev_hash"])
            + rec["body"].encode()
        ).hexdigest()
        assert digest == rec["hash"]
    ocsf = json.loads(next(iter(service.export(sqlite_env.ws, auditor, "ocsf", AuditQuery()))))
    assert ocsf["unmapped"]["prev_hash"] == "00" * 32 and ocsf["unmapped"]["seq"] == 1
