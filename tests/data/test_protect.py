"""Intake (scan, label, refuse), manual reclassification, sanitization with the
workspace's keys, and the inventory, on a real workspace and the real detector."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from bastion.audit.service import query_events
from bastion.audit.store import AuditQuery
from bastion.data import protect
from bastion.db.engine import transaction
from bastion.db.models import DatasetScanRow
from bastion.errors import DataRejected, DataScanError, PermissionDenied
from bastion.identity import credentials
from bastion.vault import objects
from bastion.vault.kinds import Kind
from tests.conftest import Env

CLEAN = "city,visits\nLyon,3\nOslo,5\n"
CONTACTS = "name,email\nJane Doe,jane.doe@example.org\nOmar Haddad,omar.h@example.net\n"
# A valid SSN (area 123, group 45, serial 6789) and a Luhn-valid Visa test number.
RESTRICTED = "name,ssn,card\nJane Doe,123-45-6789,4111 1111 1111 1111\n"


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        credentials, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _events(env: Env, action: str) -> list[dict[str, object]]:
    import json

    return [
        {"outcome": e.outcome, **json.loads(e.details)}
        for e in query_events(env.ws, env.admin, AuditQuery(action=action))
    ]


def test_labels_follow_what_the_scan_finds(env: Env, tmp_path: Path) -> None:
    clean = protect.add_dataset(env.ws, env.admin, _write(tmp_path, "c.csv", CLEAN), "clean")
    contacts = protect.add_dataset(
        env.ws, env.admin, _write(tmp_path, "p.csv", CONTACTS), "contacts"
    )
    assert clean.classification == "internal"
    assert contacts.classification == "confidential"
    with transaction(env.ws.sessions) as session:
        scans = session.scalars(select(DatasetScanRow).order_by(DatasetScanRow.id)).all()
    assert [s.classification for s in scans] == ["internal", "confidential"]
    assert scans[1].totals.get("EMAIL_ADDRESS") == 2 and scans[1].mode == "full"
    assert "jane.doe@example.org" not in str(scans[1].summary)  # masked examples only


def test_restricted_values_in_clear_are_refused_and_audited(env: Env, tmp_path: Path) -> None:
    path = _write(tmp_path, "r.csv", RESTRICTED)
    with pytest.raises(DataRejected) as refused:
        protect.add_dataset(env.ws, env.admin, path, "payroll")
    assert refused.value.code == "data.restricted_unsanitized"
    assert "US_SSN" in refused.value.message and "CREDIT_CARD" in refused.value.message
    # Choosing another label does not get around the rule.
    with pytest.raises(DataRejected):
        protect.add_dataset(
            env.ws, env.admin, path, "payroll", classification="restricted", reason="it is"
        )
    assert objects.list_objects(env.ws, env.admin, Kind.DATASET) == []
    assert [e["outcome"] for e in _events(env, "data.add")] == ["error", "error"]


def test_rules_may_allow_restricted_data(env: Env, tmp_path: Path) -> None:
    (env.settings.bastion_dir / "classification.toml").write_text(
        'nothing_found = "internal"\n[types]\nUS_SSN = "restricted"\n'
        'CREDIT_CARD = "restricted"\n[store]\nallow_restricted_unsanitized = true\n'
    )
    stored = protect.add_dataset(env.ws, env.admin, _write(tmp_path, "r.csv", RESTRICTED), "p")
    assert stored.classification == "restricted"


def test_override_needs_a_reason_that_is_audited(env: Env, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", CONTACTS)
    with pytest.raises(DataRejected) as missing:
        protect.add_dataset(env.ws, env.admin, path, "contacts", classification="public")
    assert missing.value.code == "data.override_reason_missing"
    stored = protect.add_dataset(
        env.ws, env.admin, path, "contacts", classification="public", reason="press list"
    )
    assert stored.classification == "public"
    success = next(e for e in _events(env, "data.add") if e["outcome"] == "success")
    assert success["classification_override"] == {
        "suggested": "confidential",
        "chosen": "public",
        "reason": "press list",
    }
    previous = protect.reclassify(env.ws, env.admin, "contacts", "restricted", "legal hold")
    assert previous == "public"
    assert [
        i.classification for i in objects.info(env.ws, env.admin, Kind.DATASET, "contacts")
    ] == ["restricted"]
    assert _events(env, "data.classify")[0]["reason"] == "legal hold"


def test_unscannable_files_are_stored_unscanned_and_bad_ones_refused(
    env: Env, tmp_path: Path
) -> None:
    blob = tmp_path / "images.bin"
    blob.write_bytes(bytes(range(256)) * 40)
    stored = protect.add_dataset(env.ws, env.admin, blob, "images")
    assert stored.classification == "confidential"
    items = {i.name: i for i in protect.inventory(env.ws, env.admin)}
    assert items["images"].scan_mode == "unscanned"
    broken = _write(tmp_path, "broken.jsonl", '{"a": 1}\n{"b": \n')
    with pytest.raises(DataScanError):
        protect.add_dataset(env.ws, env.admin, broken, "broken")


def test_inventory_shows_types_owner_scan_and_readers(env: Env, tmp_path: Path) -> None:
    protect.add_dataset(env.ws, env.admin, _write(tmp_path, "p.csv", CONTACTS), "contacts")
    dana = env.user("dana", "data_scientist")
    objects.get(env.ws, dana, Kind.DATASET, "contacts", tmp_path / "out.csv")
    objects.get(env.ws, dana, Kind.DATASET, "contacts", tmp_path / "out.csv", overwrite=True)
    (item,) = protect.inventory(env.ws, env.admin)
    assert item.name == "contacts" and item.owner == "admin"
    assert item.classification == "confidential"
    assert item.sensitive_types["EMAIL_ADDRESS"] == 2 and item.last_scan is not None
    assert item.readers == {"dana": 2} and item.last_read is not None
    # Without audit:read the readers are withheld, not made up.
    (seen,) = protect.inventory(env.ws, dana)
    assert seen.readers is None and seen.sensitive_types == item.sensitive_types
    analyst = env.user("ann", "executive")  # no data:list
    with pytest.raises(PermissionDenied):
        protect.inventory(env.ws, analyst)


def test_sanitize_with_workspace_keys_then_store(env: Env, tmp_path: Path) -> None:
    policy = _write(
        tmp_path,
        "policy.toml",
        '[types]\nUS_SSN = { action = "mask", keep_last = 4 }\nCREDIT_CARD = "redact"\n'
        'PERSON = "tokenize"\n',
    )
    out = tmp_path / "clean.csv"
    report = protect.sanitize(env.ws, env.admin, _write(tmp_path, "r.csv", RESTRICTED), out, policy)
    text = out.read_text()
    assert "123-45-6789" not in text and "***-**-6789" in text and "[CREDIT_CARD]" in text
    assert "Jane Doe" not in text and "<tok:PERSON:" in text
    assert report.changes.total == 3
    stored = protect.add_dataset(env.ws, env.admin, out, "payroll")
    assert stored.classification in ("internal", "confidential")
    event = _events(env, "data.sanitize")[0]
    assert event["values_changed"] == 3 and "Jane" not in str(event)
