"""A logged-in admin drives users, roles, keys, MFA, access review and the audit log."""

from __future__ import annotations

import itertools
import json
import os
import stat
from pathlib import Path

from tests.cli.conftest import Admin, Cli, refused_login


def test_login_prints_token_and_stores_private_session(cli: Cli, admin: Admin) -> None:
    assert admin.token.startswith("bss_")
    files = list((cli.state_dir / "sessions").iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert files[0].read_text().strip() == admin.token
    login_doc = json.loads(next(r.out for r in cli.history if r.args[0] == "login"))
    assert set(login_doc) == {"user", "expires_at", "token", "stored_at"}
    assert Path(login_doc["stored_at"]) == files[0]


def test_login_refuses_password_on_command_line_and_bad_otp(cli: Cli, admin: Admin) -> None:
    cli.fails(2, "input.password_stdin_required", "login", "--user", "admin", "--otp", "123456")
    result = refused_login(cli, "admin", "wrong-password", "000000")
    assert "invalid credentials" in result.err


def test_admin_workflow(cli: Cli, admin: Admin) -> None:
    # Users and service accounts.
    alice = cli.ok("user", "add", "alice", "--role", "analyst", "--json").json()
    assert alice["name"] == "alice" and alice["kind"] == "user" and alice["role"] == "analyst"
    assert alice["password"] and alice["totp_secret"]
    assert alice["totp_secret"] in alice["totp_uri"]
    human = cli.ok("user", "add", "bot", "--role", "service", "--service-account")
    assert "Created service 'bot' with role service." in human.out
    assert "password" not in human.out

    users = {u["name"]: u for u in cli.ok("user", "list", "--json").json()}
    assert set(users) == {"admin", "alice", "bot"}
    assert users["bot"]["kind"] == "service" and users["bot"]["mfa_enrolled"] is False
    assert users["alice"]["role"] == "analyst" and users["alice"]["mfa_enrolled"] is True
    assert users["admin"]["last_used_at"] is not None
    for row in users.values():
        assert "password" not in row and "totp_secret" not in row
    assert "alice" in cli.ok("user", "list").out  # the table

    roles = {r["name"]: r for r in cli.ok("role", "list", "--json").json()}
    assert {"admin", "analyst", "service"} <= set(roles)
    assert roles["admin"]["grants"] == ["*"]
    assert all(isinstance(r["grants"], list) and "description" in r for r in roles.values())

    # API keys: create, list, rotate, revoke.
    key = cli.ok("key", "create", "--principal", "bot", "--scope", "model:predict", "--json").json()
    assert key["principal"] == "bot" and key["scopes"] == ["model:predict"]
    assert key["token"].startswith("bsk_") and key["prefix"] in key["token"]
    prefix = key["prefix"]

    listed = cli.ok("key", "list", "--json").json()
    assert [k["prefix"] for k in listed] == [prefix]
    assert listed[0]["state"] == "active" and listed[0]["principal"] == "bot"
    assert "token" not in listed[0]
    assert key["token"] not in cli.history[-1].out

    successor = cli.ok("key", "rotate", prefix, "--json").json()
    assert successor["prefix"] != prefix and successor["principal"] == "bot"
    assert successor["scopes"] == ["model:predict"]
    assert successor["token"] != key["token"]
    by_prefix = {k["prefix"]: k for k in cli.ok("key", "list", "--json").json()}
    assert by_prefix[prefix]["rotated_to"] == successor["prefix"]

    assert f"Revoked {prefix}." in cli.ok("key", "revoke", prefix).out
    by_prefix = {k["prefix"]: k for k in cli.ok("key", "list", "--json").json()}
    assert by_prefix[prefix]["state"] == "revoked"
    assert by_prefix[successor["prefix"]]["state"] == "active"
    # The revoked key no longer authenticates; the successor does (and is then denied).
    cli.fails(5, "auth.", "--api-key", key["token"], "user", "list")
    cli.fails(6, "access.denied", "--api-key", successor["token"], "user", "list")

    # MFA re-enrolment shows a new secret once.
    mfa = cli.ok("mfa", "enroll", "--json").json()
    assert mfa["user"] == "admin"
    assert mfa["totp_secret"] != admin.totp_secret
    assert mfa["totp_secret"] in mfa["totp_uri"]

    # Access review.
    review = {r["name"]: r for r in cli.ok("access", "review", "--json").json()}
    assert set(review) == {"admin", "alice", "bot"}
    for row in review.values():
        assert {
            "kind",
            "role",
            "effective_permissions",
            "used_permissions",
            "keys",
            "findings",
        } <= set(row)
    assert "user:read" in review["admin"]["effective_permissions"]
    assert "user:read" not in review["bot"]["effective_permissions"]
    bot_keys = {k["prefix"]: k["state"] for k in review["bot"]["keys"]}
    assert bot_keys[prefix] == "revoked"
    assert bot_keys[successor["prefix"]] == "active"

    # The audit log: denied events, verification, exports.
    denied = cli.ok("audit", "query", "--json", "--outcome", "denied").json()
    assert denied, "the refusals above must be audited"
    assert all(e["outcome"] == "denied" for e in denied)
    assert any(e["actor"] == "bot" and e["action"] == "user.list" for e in denied)
    assert {
        "seq",
        "ts_us",
        "actor",
        "action",
        "resource",
        "outcome",
        "source",
        "details",
        "hash",
    } <= set(denied[0])

    report = cli.ok("audit", "verify", "--json").json()
    assert report["ok"] is True and report["issues"] == []
    assert report["events"] > len(denied)
    assert "Audit log intact" in cli.ok("audit", "verify").out

    ocsf = [
        json.loads(line) for line in cli.ok("audit", "export", "--format", "ocsf").out.splitlines()
    ]
    assert len(ocsf) >= report["events"]
    actions = set()
    for event in ocsf:
        action = event["unmapped"]["action"]
        actions.add(action)
        if action.startswith("auth."):
            assert (event["class_uid"], event["category_uid"]) == (3002, 3), event
        else:
            assert (event["class_uid"], event["category_uid"]) == (6003, 6), event
            assert event["api"]["operation"] == action
        assert event["type_uid"] // 100 == event["class_uid"]
    assert any(a.startswith("auth.") for a in actions)
    assert "user.create" in actions
    assert cli.fails(2, "audit.bad_format", "audit", "export", "--format", "csv").out == ""

    out_file = cli.root / "audit.jsonl"
    result = cli.ok("audit", "export", "--format", "jsonl", "-o", str(out_file))
    assert "Wrote" in result.out
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert len(lines) >= len(ocsf)
    assert all(e["hash"] for e in lines)
    for prev, event in itertools.pairwise(lines):
        if "prev_hash" in event:  # the chain travels with the export where the format has it
            assert event["prev_hash"] == prev["hash"]


def test_audit_query_filters(cli: Cli, admin: Admin) -> None:
    cli.ok("user", "add", "carol", "--role", "auditor")
    events = cli.ok("audit", "query", "--json", "--action", "user.*", "--actor", "admin").json()
    assert events and all(e["action"].startswith("user.") and e["actor"] == "admin" for e in events)
    limited = cli.ok("audit", "query", "--json", "--limit", "2", "--since", "1h").json()
    assert len(limited) == 2
    cli.fails(2, "input.bad_time", "audit", "query", "--since", "yesterday")
