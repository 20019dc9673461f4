"""API keys: shown once, stored as a keyed hash, expiry, revocation, rotation, last use."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.context import AuthMethod, PrincipalKind
from bastion.db.models import ApiKeyRow, PrincipalRow
from bastion.errors import (
    AuthenticationFailed,
    InvalidInput,
    MfaRequired,
    NotFound,
    PermissionDenied,
)
from bastion.identity import apikeys, principals
from tests.conftest import Env
from tests.identity.helpers import events, key_context, service_account

HOUR = 3600
DAY = 24 * HOUR


def authenticate(env: Env, token: str) -> None:
    apikeys.authenticate_api_key(env.ws, env.anon(), token)


def refused(env: Env, token: str) -> str:
    """Authenticate, expecting failure; return the error code."""
    with pytest.raises(AuthenticationFailed) as err:
        authenticate(env, token)
    return err.value.code


def key_row(env: Env, prefix: str) -> ApiKeyRow:
    with env.ws.sessions() as session:
        row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
        assert row is not None
        session.expunge(row)
        return row


def test_create_shows_the_token_once_and_stores_only_a_keyed_hash(env: Env) -> None:
    key = service_account(env, "bot", scopes=["model:predict"], ttl=timedelta(days=30))
    kind, prefix, secret = key.token.split("_", 2)
    assert (kind, prefix) == ("bsk", key.prefix)
    assert len(prefix) == 16 and len(secret) >= 40
    assert key.principal == "bot"
    assert key.scopes == ["model:predict"]
    assert key.expires_at == env.clock.now() + timedelta(days=30)

    # Every column of the stored row, as the database returns it.
    with env.ws.engine.connect() as conn:
        [row] = conn.execute(select(ApiKeyRow.__table__)).mappings().all()
    stored = " ".join(str(v) for v in row.values())
    assert secret not in stored and key.token not in stored
    assert row["prefix"] == prefix
    digest = row["secret_hash"]
    assert len(digest) == 64 and int(digest, 16) >= 0
    # Keyed: not a plain hash anybody could compute from a leaked token list.
    assert digest != hashlib.sha256(secret.encode()).hexdigest()
    assert digest != hashlib.sha256(key.token.encode()).hexdigest()
    # Bound to kind, prefix and owner: the row cannot be re-pointed at someone else.
    bound = f"bsk|{prefix}|{row['principal_id']}|{secret}".encode()
    assert digest == env.ws.keyring.keyed_hash(bound)

    # Listings and the audit log never carry the secret again.
    [info] = apikeys.list_keys(env.ws, env.admin, "bot")
    assert info.prefix == prefix and secret not in repr(info)
    authenticate(env, key.token)
    for event in events(env):
        assert secret not in event.details and secret not in event.resource
    [created] = events(env, action="key.create")
    assert created.resource == f"api_key/{prefix}"
    assert created.details_dict()["principal"] == "bot"


def test_authenticate_returns_the_owner_with_the_key_scopes(env: Env) -> None:
    key = service_account(env, "bot", scopes=["model:predict@fraud-*"])
    principal = apikeys.authenticate_api_key(env.ws, env.anon(), key.token)
    assert principal.name == "bot"
    assert principal.kind is PrincipalKind.SERVICE
    assert principal.role == "service"
    assert principal.auth is AuthMethod.API_KEY
    assert principal.scopes == ("model:predict@fraud-*",)
    assert principal.credential_id == key.prefix
    # Whitespace around a pasted token is tolerated.
    assert apikeys.authenticate_api_key(env.ws, env.anon(), f"  {key.token}\n").name == "bot"
    [ok, _] = events(env, action="auth.api_key", outcome="success")
    assert ok.actor == "bot" and ok.resource == f"api_key/{key.prefix}"


def test_unknown_malformed_and_wrong_secret_keys_are_refused(env: Env) -> None:
    key = service_account(env, "bot")
    _, prefix, secret = key.token.split("_", 2)
    other = "x" if secret[0] != "x" else "y"
    bad_tokens = [
        f"bsk_{'0' * 16}_{secret}",  # unknown prefix
        f"bsk_{prefix}_{other}{secret[1:]}",  # wrong secret
        f"bsk_{prefix}_{secret[:-1]}",  # truncated secret (still well formed)
        f"bss_{prefix}_{secret}",  # a session token is not an API key
        f"bsk_{prefix}{secret}",  # missing separator
        f"bsk_{prefix[:-1]}_{secret}",  # short prefix
        f"bsk_{prefix}_short",  # short secret
        "",
        "bsk",
        "bsk__",
        "not a key",
        "_".join(["bsk", "a" * 500, "b" * 500]),
    ]
    for token in bad_tokens:
        assert refused(env, token) == "auth.failed", token
    denied = events(env, action="auth.api_key", outcome="denied")
    assert len(denied) == len(bad_tokens)
    assert all(e.details_dict()["error"] == "auth.failed" for e in denied)
    assert all(len(e.resource) <= len("api_key/") + 16 for e in denied)
    authenticate(env, key.token)  # the real key is unaffected


def test_expired_key_is_refused(env: Env) -> None:
    key = service_account(env, "bot", ttl=timedelta(hours=1))
    env.clock.advance(HOUR - 1)
    authenticate(env, key.token)
    env.clock.advance(1)
    assert refused(env, key.token) == "auth.key_expired"
    env.clock.advance(DAY)
    assert refused(env, key.token) == "auth.key_expired"
    [info] = apikeys.list_keys(env.ws, env.admin, "bot")
    assert info.state(env.clock.now()) == "expired"
    [denied, _] = events(env, action="auth.api_key", outcome="denied")
    assert denied.details_dict()["error"] == "auth.key_expired"


def test_key_lifetime_is_bounded(env: Env) -> None:
    principals.add_principal(env.ws, env.admin, "bot", "service", service_account=True)
    for ttl in (timedelta(0), timedelta(seconds=-1), timedelta(days=367)):
        with pytest.raises(InvalidInput) as err:
            apikeys.create_key(env.ws, env.admin, "bot", ttl=ttl)
        assert err.value.code == "identity.bad_ttl"
    assert apikeys.list_keys(env.ws, env.admin, "bot") == []
    forever = apikeys.create_key(env.ws, env.admin, "bot", ttl=None)
    assert forever.expires_at is None
    default = apikeys.create_key(env.ws, env.admin, "bot")
    assert default.expires_at == env.clock.now() + timedelta(days=90)
    env.clock.advance(400 * DAY)
    authenticate(env, forever.token)
    assert refused(env, default.token) == "auth.key_expired"


def test_revoked_key_is_refused(env: Env) -> None:
    key = service_account(env, "bot")
    keep = apikeys.create_key(env.ws, env.admin, "bot")
    authenticate(env, key.token)
    apikeys.revoke_key(env.ws, env.admin, key.prefix)
    assert refused(env, key.token) == "auth.key_revoked"
    authenticate(env, keep.token)  # only the revoked key stops working
    revoked_at = key_row(env, key.prefix).revoked_at
    assert revoked_at == env.clock.now()
    env.clock.advance(60)
    apikeys.revoke_key(env.ws, env.admin, key.prefix)  # idempotent: keeps the first time
    assert key_row(env, key.prefix).revoked_at == revoked_at
    with pytest.raises(NotFound) as err:
        apikeys.revoke_key(env.ws, env.admin, "0" * 16)
    assert err.value.code == "identity.key_not_found"
    [info, _] = apikeys.list_keys(env.ws, env.admin, "bot")
    assert info.state(env.clock.now()) == "revoked"


def test_rotation_overlap_window(env: Env) -> None:
    old = service_account(env, "bot", scopes=["model:predict"], ttl=timedelta(days=30))
    env.clock.advance(DAY)
    new = apikeys.rotate_key(env.ws, env.admin, old.prefix, overlap=timedelta(hours=2))
    env.secrets_seen.append(new.token)
    assert new.prefix != old.prefix and new.token != old.token
    assert (new.principal, new.scopes) == ("bot", ["model:predict"])
    assert new.expires_at == env.clock.now() + timedelta(days=30)  # same lifetime, from now
    assert key_context(env, new.token).principal.scopes == ("model:predict",)
    assert key_row(env, old.prefix).rotated_to == new.prefix

    env.clock.advance(2 * HOUR - 1)
    authenticate(env, old.token)  # overlap: both work
    authenticate(env, new.token)
    env.clock.advance(1)
    assert refused(env, old.token) == "auth.key_expired"
    authenticate(env, new.token)

    [rotated] = events(env, action="key.rotate")
    assert rotated.details_dict()["successor"] == new.prefix


def test_rotation_never_extends_the_old_key(env: Env) -> None:
    old = service_account(env, "bot", ttl=timedelta(hours=1))
    env.clock.advance(HOUR // 2)
    new = apikeys.rotate_key(env.ws, env.admin, old.prefix, overlap=timedelta(days=7))
    env.clock.advance(HOUR // 2 - 1)
    authenticate(env, old.token)
    env.clock.advance(1)
    assert refused(env, old.token) == "auth.key_expired"
    authenticate(env, new.token)


def test_rotation_with_no_overlap_cuts_over_at_once(env: Env) -> None:
    old = service_account(env, "bot", ttl=None)
    new = apikeys.rotate_key(env.ws, env.admin, old.prefix, overlap=timedelta(0))
    assert new.expires_at is None
    assert refused(env, old.token) == "auth.key_expired"
    authenticate(env, new.token)


def test_a_key_is_rotated_only_once(env: Env) -> None:
    old = service_account(env, "bot", ttl=timedelta(days=90))
    env.clock.advance(10 * DAY)
    first = apikeys.rotate_key(env.ws, env.admin, old.prefix)
    with pytest.raises(InvalidInput) as err:
        apikeys.rotate_key(env.ws, env.admin, old.prefix)
    assert err.value.code == "identity.key_rotated"
    assert key_row(env, old.prefix).rotated_to == first.prefix
    assert len(apikeys.list_keys(env.ws, env.admin, "bot")) == 2
    # The successor rotates normally and keeps the full lifetime.
    env.clock.advance(DAY)
    second = apikeys.rotate_key(env.ws, env.admin, first.prefix)
    assert second.expires_at == env.clock.now() + timedelta(days=90)
    authenticate(env, second.token)


def test_rotating_an_inactive_key_fails(env: Env) -> None:
    revoked = service_account(env, "bot")
    apikeys.revoke_key(env.ws, env.admin, revoked.prefix)
    expired = apikeys.create_key(env.ws, env.admin, "bot", ttl=timedelta(minutes=5))
    env.clock.advance(300)
    for prefix in (revoked.prefix, expired.prefix):
        with pytest.raises(InvalidInput) as err:
            apikeys.rotate_key(env.ws, env.admin, prefix)
        assert err.value.code == "identity.key_inactive"
    with pytest.raises(NotFound):
        apikeys.rotate_key(env.ws, env.admin, "f" * 16)
    active = apikeys.create_key(env.ws, env.admin, "bot")
    with pytest.raises(InvalidInput) as err:
        apikeys.rotate_key(env.ws, env.admin, active.prefix, overlap=timedelta(seconds=-1))
    assert err.value.code == "identity.bad_overlap"
    # Nothing was issued by the failed rotations.
    keys = apikeys.list_keys(env.ws, env.admin, "bot")
    assert [k.prefix for k in keys] == [revoked.prefix, expired.prefix, active.prefix]
    assert all(k.rotated_to is None for k in keys)


def test_last_used_is_recorded(env: Env) -> None:
    key = service_account(env, "bot")
    assert key_row(env, key.prefix).last_used_at is None
    env.clock.advance(10)
    first = env.clock.now()
    authenticate(env, key.token)
    assert key_row(env, key.prefix).last_used_at == first
    [info] = apikeys.list_keys(env.ws, env.admin, "bot")
    assert info.last_used_at == first
    # Refreshed at most once a minute, so a busy key does not write per request.
    env.clock.advance(30)
    authenticate(env, key.token)
    assert key_row(env, key.prefix).last_used_at == first
    env.clock.advance(30)
    authenticate(env, key.token)
    assert key_row(env, key.prefix).last_used_at == env.clock.now()
    [bot] = [p for p in principals.list_principals(env.ws, env.admin) if p.name == "bot"]
    assert bot.last_used_at == env.clock.now()
    # A failed attempt does not count as use.
    env.clock.advance(120)
    _, prefix, secret = key.token.split("_", 2)
    refused(env, f"bsk_{prefix}_{'A' * len(secret)}")
    assert key_row(env, key.prefix).last_used_at == env.clock.now() - timedelta(seconds=120)


def test_disabled_principals_key_is_refused(env: Env) -> None:
    key = service_account(env, "bot")
    authenticate(env, key.token)
    principals.disable_principal(env.ws, env.admin, "bot")
    assert refused(env, key.token) == "auth.principal_disabled"
    with env.ws.sessions() as session:
        owner = session.scalar(select(PrincipalRow).where(PrincipalRow.name == "bot"))
        assert owner is not None and owner.disabled


def test_managing_keys_needs_admin_with_mfa(env: Env) -> None:
    key = service_account(env, "bot")
    engineer = env.user("erin", "engineer")
    with pytest.raises(PermissionDenied):
        apikeys.create_key(env.ws, engineer, "erin")
    with pytest.raises(PermissionDenied):
        apikeys.list_keys(env.ws, engineer)
    with pytest.raises(PermissionDenied):
        apikeys.revoke_key(env.ws, engineer, key.prefix)
    admin_key = apikeys.create_key(env.ws, env.admin, "admin")
    via_key = key_context(env, admin_key.token)
    assert len(apikeys.list_keys(env.ws, via_key)) == 2  # key:read is not an admin permission
    for call in (
        lambda: apikeys.create_key(env.ws, via_key, "bot"),
        lambda: apikeys.rotate_key(env.ws, via_key, key.prefix),
        lambda: apikeys.revoke_key(env.ws, via_key, key.prefix),
    ):
        with pytest.raises(MfaRequired):
            call()
    authenticate(env, key.token)
    assert len(apikeys.list_keys(env.ws, env.admin)) == 2
    with pytest.raises(NotFound) as err:
        apikeys.create_key(env.ws, env.admin, "ghost")
    assert err.value.code == "identity.principal_not_found"


def test_a_key_row_repointed_at_another_principal_stops_working(env: Env) -> None:
    """Database write access alone must not turn a low-privilege key into an admin's."""
    from sqlalchemy import update

    from bastion.db.models import PrincipalRow
    from bastion.errors import AuthenticationFailed

    principals.add_principal(env.ws, env.admin, "lowbot", "service", service_account=True)
    key = apikeys.create_key(env.ws, env.admin, "lowbot")
    with env.ws.engine.begin() as conn:
        admin_id = conn.execute(
            select(PrincipalRow.id).where(PrincipalRow.name == "admin")
        ).scalar_one()
        conn.execute(
            update(ApiKeyRow).where(ApiKeyRow.prefix == key.prefix).values(principal_id=admin_id)
        )
    with pytest.raises(AuthenticationFailed):
        apikeys.authenticate_api_key(env.ws, env.anon(), key.token)


def test_no_key_for_a_disabled_principal(env: Env) -> None:
    principals.add_principal(env.ws, env.admin, "oldbot", "service", service_account=True)
    principals.disable_principal(env.ws, env.admin, "oldbot")
    with pytest.raises(InvalidInput) as caught:
        apikeys.create_key(env.ws, env.admin, "oldbot")
    assert caught.value.code == "identity.principal_disabled"
    assert apikeys.list_keys(env.ws, env.admin, "oldbot") == []
