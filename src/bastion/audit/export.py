"""Export events for a SIEM: JSON Lines (chain fields kept) or OCSF 1.3.

OCSF mapping: ``auth.*`` actions become Authentication (class 3002, category 3, Identity
& Access Management); everything else API Activity (class 6003, category 6, Application
Activity). The chain fields (seq, hash, prev_hash and the exact hashed body) travel in
``unmapped``, so a receiver can re-verify every exported event (docs/formats/audit-chain.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from bastion.audit.events import AuditEvent
from bastion.errors import InvalidInput

OCSF_VERSION = "1.3.0"
FORMATS = ("jsonl", "ocsf")

_API_ACTIVITY = {"create": 1, "read": 2, "update": 3, "delete": 4}
_AUTH_ACTIVITY = {"login": 1, "logout": 2, "key": 1, "session": 1, "mfa": 99}


def _api_activity(action: str) -> int:
    verb = action.rsplit(".", 1)[-1]
    for word, activity in (
        ("add", 1),
        ("create", 1),
        ("enroll", 1),
        ("init", 1),
        ("append", 1),
        ("list", 2),
        ("read", 2),
        ("get", 2),
        ("query", 2),
        ("verify", 2),
        ("export", 2),
        ("review", 2),
        ("show", 2),
        ("info", 2),
        ("update", 3),
        ("rotate", 3),
        ("grant", 3),
        ("set", 3),
        ("enable", 3),
        ("disable", 3),
        ("delete", 4),
        ("revoke", 4),
        ("remove", 4),
        ("rm", 4),
    ):
        if verb.startswith(word):
            return activity
    return _API_ACTIVITY.get(verb, 99)


def _status(outcome: str) -> tuple[int, str]:
    return (1, "Success") if outcome == "success" else (2, "Failure")


def to_ocsf(event: AuditEvent) -> dict[str, Any]:
    """One event as an OCSF record."""
    status_id, status = _status(event.outcome)
    time_ms = event.ts_us // 1000
    details = event.details_dict()
    common: dict[str, Any] = {
        "time": time_ms,
        "severity_id": 1 if event.outcome == "success" else 3,
        "status_id": status_id,
        "status": status,
        "status_detail": event.outcome,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": f"{event.seq}",
            "correlation_uid": event.request_id,
            "log_name": "bastion-audit",
            "product": {"name": "Bastion", "vendor_name": "Bastion"},
        },
        "src_endpoint": {"ip": event.source}
        if _looks_like_ip(event.source)
        else {"name": event.source},
        "unmapped": {
            "seq": event.seq,
            "ts_us": event.ts_us,
            "hash": event.hash,
            "prev_hash": event.prev_hash,
            "body": event.body,
            "action": event.action,
            "resource": event.resource,
            "details": details,
        },
    }
    if event.action.startswith("auth."):
        verb = event.action.split(".", 1)[1]
        activity = _AUTH_ACTIVITY.get(verb.split(".")[0], 99)
        return {
            **common,
            "category_uid": 3,
            "class_uid": 3002,
            "activity_id": activity,
            "type_uid": 3002 * 100 + activity,
            "user": {"name": event.actor},
            "is_mfa": bool(details.get("mfa", False)),
            "message": f"{event.action} {event.outcome}",
        }
    activity = _api_activity(event.action)
    return {
        **common,
        "category_uid": 6,
        "class_uid": 6003,
        "activity_id": activity,
        "type_uid": 6003 * 100 + activity,
        "actor": {"user": {"name": event.actor}},
        "api": {"operation": event.action, "request": {"uid": event.request_id}},
        "resources": [{"name": event.resource}] if event.resource else [],
        "message": f"{event.action} {event.resource} {event.outcome}".strip(),
    }


def _looks_like_ip(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def export_lines(events: Iterable[AuditEvent], fmt: str) -> Iterator[str]:
    """Yield one JSON document per line in the chosen format."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"unknown export format {fmt!r}", code="audit.bad_format", hint="Use jsonl or ocsf."
        )
    for event in events:
        record = event.as_dict() if fmt == "jsonl" else to_ocsf(event)
        yield json.dumps(record, sort_keys=True, ensure_ascii=False)
