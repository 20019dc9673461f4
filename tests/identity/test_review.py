"""The periodic access review: effective permissions, stale and expired keys, policy drift."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bastion.context import Context
from bastion.db.models import RoleRow
from bastion.errors import MfaRequired, PermissionDenied
from bastion.identity import apikeys, principals
from bastion.identity.permissions import ADMIN_PERMISSIONS, PERMISSIONS
from bastion.identity.policy import DEFAULT_ROLES, expand
from bastion.identity.review import access_review
from tests.conftest import Env
from tests.identity.helpers import events, key_context, service_account

DAY = 24 * 3600


def review(env: Env, ctx: Context | None = None) -> dict[str, dict[str, Any]]:
    """The review keyed by principal name."""
    return {r["name"]: r for r in access_review(env.ws, ctx or env.admin)}


def relogin_admin(env: Env) -> None:
    """After moving the clock by days the admin's session has expired: log in again."""
    env.admin = env.login("admin", env.admin_password, env.admin_totp)


def key_of(entry: dict[str, Any], prefix: str) -> dict[str, Any]:
    [found] = [k for k in entry["keys"] if k["prefix"] == prefix]
    return found


def test_lists_every_principal_with_effective_permissions(env: Env) -> None:
    env.user("ana", "analyst")
    env.user("erin", "engineer")
    service_account(env, "bot", scopes=["model:predict"])
    result = review(env)
    assert set(result) == {"admin", "ana", "erin", "bot"}
    assert {p.name for p in principals.list_principals(env.ws, env.admin)} == set(result)
    for name, role in (
        ("admin", "admin"),
        ("ana", "analyst"),
        ("erin", "engineer"),
        ("bot", "service"),
    ):
        entry = result[name]
        assert entry["role"] == role
        assert entry["effective_permissions"] == expand(DEFAULT_ROLES[role][1])
    assert result["admin"]["effective_permissions"] == sorted(PERMISSIONS)
    assert result["bot"]["kind"] == "service" and result["ana"]["kind"] == "user"
    assert result["ana"]["mfa_enrolled"] and not result["bot"]["mfa_enrolled"]
    # Nothing to flag on a fresh workspace with a scoped service key.
    assert all(entry["findings"] == [] for entry in result.values()), result
    # Used permissions come from the audit log: the admin created principals.
    assert "user:create" in result["admin"]["used_permissions"]
    assert "user:create" not in result["admin"]["unused_permissions"]
    [done] = events(env, action="access.review")
    assert done.details_dict()["principals"] == 4


def test_review_needs_an_admin_mfa_session(env: Env) -> None:
    auditor = env.user("audrey", "auditor")
    with pytest.raises(PermissionDenied):
        access_review(env.ws, auditor)
    key = apikeys.create_key(env.ws, env.admin, "admin")
    with pytest.raises(MfaRequired):
        access_review(env.ws, key_context(env, key.token))
    assert [e.actor for e in events(env, action="access.review", outcome="denied")] == [
        "audrey",
        "admin",
    ]


def test_flags_keys_unused_for_90_days(env: Env) -> None:
    stale = service_account(env, "bot", scopes=["model:predict"], ttl=timedelta(days=366))
    used = apikeys.create_key(
        env.ws, env.admin, "bot", scopes=["model:list"], ttl=timedelta(days=366)
    )
    relogin_admin(env)
    before = review(env)["bot"]
    assert not key_of(before, stale.prefix)["unused_90d"]
    assert before["findings"] == []

    env.clock.advance(89 * DAY)
    key_context(env, used.token)  # in use
    env.clock.advance(2 * DAY)
    relogin_admin(env)
    after = review(env)["bot"]
    assert key_of(after, stale.prefix)["unused_90d"] is True
    assert key_of(after, stale.prefix)["state"] == "active"
    assert key_of(after, used.prefix)["unused_90d"] is False
    assert key_of(after, used.prefix)["last_used_at"] is not None
    assert f"key {stale.prefix} unused for 90 days: revoke it" in after["findings"]
    assert not any(used.prefix in f for f in after["findings"])

    # Revoked keys are not reported as stale.
    apikeys.revoke_key(env.ws, env.admin, stale.prefix)
    final = review(env)["bot"]
    assert key_of(final, stale.prefix)["state"] == "revoked"
    assert not any(stale.prefix in f for f in final["findings"])


def test_flags_expired_keys(env: Env) -> None:
    expiring = service_account(env, "bot", scopes=["model:predict"], ttl=timedelta(days=1))
    lasting = apikeys.create_key(
        env.ws, env.admin, "bot", scopes=["model:predict"], ttl=timedelta(days=30)
    )
    relogin_admin(env)
    assert review(env)["bot"]["findings"] == []
    env.clock.advance(2 * DAY)
    relogin_admin(env)
    entry = review(env)["bot"]
    assert key_of(entry, expiring.prefix)["state"] == "expired"
    assert key_of(entry, lasting.prefix)["state"] == "active"
    assert entry["findings"] == [f"key {expiring.prefix} expired: remove or rotate it"]


def test_flags_a_builtin_role_edited_beyond_its_default(env: Env) -> None:
    env.user("ana", "analyst")
    env.user("erin", "engineer")
    principals.change_role(
        env.ws, env.admin, "analyst", grant=["data:read", "audit:read"], revoke=[]
    )
    result = review(env)
    assert result["ana"]["findings"] == [
        "role analyst grants more than its default: audit:read, data:read"
    ]
    assert "data:read" in result["ana"]["effective_permissions"]
    assert result["erin"]["findings"] == []
    # Narrowing a role is not drift worth flagging.
    principals.change_role(
        env.ws, env.admin, "analyst", grant=[], revoke=["data:read", "audit:read", "report:read"]
    )
    assert review(env)["ana"]["findings"] == []


def test_narrowing_a_builtin_role_to_a_resource_glob_is_not_drift(env: Env) -> None:
    service_account(env, "bot", scopes=["model:predict"])
    env.user("ana", "analyst")
    principals.change_role(
        env.ws, env.admin, "service", grant=["model:predict@fraud-*"], revoke=["model:predict"]
    )
    principals.change_role(env.ws, env.admin, "analyst", grant=["data:read@public-*"], revoke=[])
    result = review(env)
    assert result["bot"]["effective_permissions"] == ["model:list", "model:predict@fraud-*"]
    assert result["bot"]["findings"] == []
    # A glob on a permission the default never held is still more than the default.
    assert result["ana"]["findings"] == [
        "role analyst grants more than its default: data:read@public-*"
    ]


def test_flags_unscoped_active_service_account_key(env: Env) -> None:
    unscoped = service_account(env, "bot")
    service_account(env, "scoped", scopes=["model:predict"])
    star = service_account(env, "star", scopes=["*"])
    finding = "service account key without scopes: scope it to what it calls"
    result = review(env)
    assert key_of(result["bot"], unscoped.prefix)["unscoped"] is True
    assert result["bot"]["findings"] == [finding]
    assert result["scoped"]["findings"] == []
    # A "*" scope narrows nothing, so it counts as unscoped.
    assert key_of(result["star"], star.prefix)["unscoped"] is True
    assert result["star"]["findings"] == [finding]
    # Humans' unscoped keys are not this finding.
    apikeys.create_key(env.ws, env.admin, "admin")
    assert finding not in review(env)["admin"]["findings"]
    # Once the key is revoked there is nothing left to scope.
    apikeys.revoke_key(env.ws, env.admin, unscoped.prefix)
    assert review(env)["bot"]["findings"] == []


def test_flags_active_key_on_disabled_principal(env: Env) -> None:
    key = service_account(env, "bot", scopes=["model:predict"])
    principals.disable_principal(env.ws, env.admin, "bot")
    entry = review(env)["bot"]
    assert entry["disabled"] is True
    assert f"key {key.prefix} is active on a disabled principal" in entry["findings"]


def test_service_accounts_never_show_admin_permissions(env: Env) -> None:
    service_account(env, "bot", scopes=["model:predict"])
    assert review(env)["bot"]["effective_permissions"] == ["model:list", "model:predict"]
    # Even if the role table were edited behind Bastion's back (change_role refuses this).
    with env.ws.sessions.begin() as session:
        session.execute(
            update(RoleRow)
            .where(RoleRow.name == "service")
            .values(permissions=["*", "user:create@principal/*"])
        )
    effective = review(env)["bot"]["effective_permissions"]
    assert not {e.partition("@")[0] for e in effective} & ADMIN_PERMISSIONS
    assert set(effective) == set(PERMISSIONS) - ADMIN_PERMISSIONS
    assert set(review(env)["admin"]["effective_permissions"]) >= ADMIN_PERMISSIONS


def test_flags_inactive_principals(env: Env) -> None:
    env.user("ana", "analyst")
    principals.add_principal(env.ws, env.admin, "idle", "analyst")
    env.clock.advance(91 * DAY)
    relogin_admin(env)
    result = review(env)
    assert "inactive for 90 days: disable it" in result["idle"]["findings"]
    assert "inactive for 90 days: disable it" in result["ana"]["findings"]
    assert "inactive for 90 days: disable it" not in result["admin"]["findings"]
