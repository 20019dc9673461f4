"""Login with password + TOTP, replay refusal, session expiry, logout, MFA re-enrolment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.context import AuthMethod, PrincipalKind
from bastion.db.models import PrincipalRow, SessionRow
from bastion.errors import (
    AuthenticationFailed,
    InvalidInput,
    MfaRequired,
    PermissionDenied,
    SessionExpired,
)
from bastion.identity import apikeys, credentials, principals, sessions
from bastion.identity.principals import NewPrincipal
from tests.conftest import Env
from tests.identity.helpers import code_at, code_outside, events, key_context, window_codes


def new_user(env: Env, name: str = "alice", role: str = "analyst") -> NewPrincipal:
    new = principals.add_principal(env.ws, env.admin, name, role)
    assert new.password and new.totp_secret
    env.secrets_seen += [new.password, new.totp_secret]
    return new


def login(
    env: Env, user: NewPrincipal, otp: str | None = None, password: str | None = None
) -> sessions.SessionGrant:
    assert user.password and user.totp_secret
    grant = sessions.login(
        env.ws,
        env.anon(),
        user.name,
        user.password if password is None else password,
        env.code(user.totp_secret) if otp is None else otp,
    )
    env.secrets_seen.append(grant.token)
    return grant


def login_error(
    env: Env, user: NewPrincipal, otp: str | None = None, password: str | None = None
) -> str:
    with pytest.raises(AuthenticationFailed) as err:
        login(env, user, otp, password)
    return err.value.code


def replay_refused(env: Env, user: NewPrincipal, otp: str) -> bool:
    """The login fails with the one generic code; only the audit log says 'replayed'."""
    assert login_error(env, user, otp) == "auth.failed"
    last = events(env, action="auth.login", outcome="denied")[-1]
    return bool(last.details_dict()["reason"] == "otp_replayed")


def authenticate(env: Env, token: str) -> PrincipalKind:
    return sessions.authenticate_session(env.ws, env.anon(), token).kind


def session_error(env: Env, token: str) -> str:
    with pytest.raises(AuthenticationFailed) as err:
        sessions.authenticate_session(env.ws, env.anon(), token)
    return err.value.code


def failed_logins(env: Env, name: str) -> int:
    with env.ws.sessions() as session:
        row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == name))
        assert row is not None
        return row.failed_logins


def test_login_opens_a_session(env: Env) -> None:
    user = new_user(env)
    grant = login(env, user)
    assert grant.principal == "alice"
    assert grant.token.startswith("bss_")
    assert grant.expires_at == env.clock.now() + timedelta(seconds=env.settings.session_ttl_seconds)
    principal = sessions.authenticate_session(env.ws, env.anon(), grant.token)
    assert (principal.name, principal.role) == ("alice", "analyst")
    assert principal.kind is PrincipalKind.USER
    assert principal.auth is AuthMethod.MFA_SESSION
    # Only a keyed hash of the session secret is stored.
    secret = grant.token.split("_", 2)[2]
    with env.ws.engine.connect() as conn:
        rows = conn.execute(select(SessionRow.__table__)).mappings().all()
    assert all(secret not in " ".join(map(str, r.values())) for r in rows)
    assert all(secret not in e.details for e in events(env))
    [ok] = events(env, action="auth.login", actor="alice", outcome="success")
    assert ok.details_dict()["mfa"] is True
    assert failed_logins(env, "alice") == 0


def test_wrong_password_or_code_is_refused(env: Env) -> None:
    user = new_user(env)
    assert user.totp_secret
    wrong_code = code_outside(window_codes(user.totp_secret, env.clock.now().timestamp()))
    assert login_error(env, user, password="not-the-password") == "auth.failed"
    assert login_error(env, user, password="") == "auth.failed"
    assert login_error(env, user, otp=wrong_code) == "auth.failed"
    for malformed in ("", "12345", "1234567", "abcdef", "12 456"):
        assert login_error(env, user, otp=malformed) == "auth.failed"
    assert failed_logins(env, "alice") == 8
    # A correct login still works afterwards and resets the counter.
    login(env, user)
    assert failed_logins(env, "alice") == 0


def test_unknown_user_is_refused_like_a_wrong_password(env: Env) -> None:
    user = new_user(env)
    assert user.totp_secret and user.password
    with pytest.raises(AuthenticationFailed) as err:
        sessions.login(env.ws, env.anon(), "nobody", user.password, env.code(user.totp_secret))
    assert err.value.code == "auth.failed"


def test_failed_logins_are_audited_with_the_attempted_name(env: Env) -> None:
    user = new_user(env)
    assert user.password
    with pytest.raises(AuthenticationFailed):
        sessions.login(env.ws, env.anon(), "mallory", "guess", "123456")
    login_error(env, user, password="guess")
    wrong = code_outside(window_codes(user.totp_secret or "", env.clock.now().timestamp()))
    login_error(env, user, otp=wrong)
    denied = events(env, action="auth.login", outcome="denied")
    assert [(e.actor, e.resource) for e in denied] == [
        ("mallory", "principal/mallory"),
        ("alice", "principal/alice"),
        ("alice", "principal/alice"),
    ]
    assert [e.details_dict()["reason"] for e in denied] == ["password", "password", "otp"]
    assert all(e.details_dict()["error"] == "auth.failed" for e in denied)
    assert all(e.source == "127.0.0.1" for e in denied)
    for event in denied:
        assert "guess" not in event.details and user.password not in event.details


def test_replayed_code_is_refused(env: Env) -> None:
    user = new_user(env)
    assert user.totp_secret
    code = env.code(user.totp_secret)
    login(env, user, otp=code)
    assert replay_refused(env, user, code)
    env.clock.advance(10)  # same 30 s step, later second
    assert replay_refused(env, user, code)
    [replay, _] = events(env, action="auth.login", outcome="denied")
    assert replay.details_dict()["reason"] == "otp_replayed"
    assert failed_logins(env, "alice") == 2
    # The next step's code works.
    env.clock.advance(30)
    login(env, user)


@pytest.mark.postgres
def test_racing_logins_with_one_code_admit_only_one(
    pg_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL only: on SQLite, BEGIN IMMEDIATE means two logins never interleave."""
    env = pg_env
    user = new_user(env)
    assert user.totp_secret
    code = env.code(user.totp_secret)
    real_match = credentials.match_totp
    winners: list[sessions.SessionGrant] = []
    raced = False

    def interleaved(seed: bytes, otp: str, at_unix: float, last_step: int | None) -> int:
        # The first login has read the principal row; a second login with the same code
        # runs to completion before the first one goes on.
        nonlocal raced
        if not raced:
            raced = True
            winners.append(login(env, user, otp=code))
        return real_match(seed, otp, at_unix, last_step)

    monkeypatch.setattr(credentials, "match_totp", interleaved)
    assert replay_refused(env, user, code)
    assert [w.principal for w in winners] == ["alice"]
    assert authenticate(env, winners[0].token) is PrincipalKind.USER
    outcomes = [e.outcome for e in events(env, action="auth.login", actor="alice")]
    assert outcomes == ["success", "denied"]


def test_previous_step_code_accepted_once_but_not_older(env: Env) -> None:
    user = new_user(env)
    assert user.totp_secret
    now = env.clock.now().timestamp()
    previous = code_at(user.totp_secret, now - 30)
    older = code_at(user.totp_secret, now - 60)
    current = code_at(user.totp_secret, now)
    # The clock is fixed, so these codes are fixed too: they must all differ.
    assert older not in {previous, current, code_at(user.totp_secret, now + 30)}
    assert login_error(env, user, otp=older) == "auth.failed"
    login(env, user, otp=previous)  # one step of clock skew is tolerated
    assert replay_refused(env, user, previous)
    login(env, user, otp=current)  # a later step is still fine
    # Once the current step was used, the previous one may not follow it.
    assert replay_refused(env, user, current)


def test_next_step_code_accepted_for_skew(env: Env) -> None:
    user = new_user(env)
    assert user.totp_secret
    now = env.clock.now().timestamp()
    login(env, user, otp=code_at(user.totp_secret, now + 30))
    # That step is used now: the current code (an earlier step) counts as a replay.
    assert replay_refused(env, user, code_at(user.totp_secret, now))
    assert login_error(env, user, otp=code_at(user.totp_secret, now + 90)) == "auth.failed"


def test_session_expires(env: Env) -> None:
    user = new_user(env)
    grant = login(env, user)
    ttl = env.settings.session_ttl_seconds
    env.clock.advance(ttl - 1)
    assert authenticate(env, grant.token) is PrincipalKind.USER
    env.clock.advance(1)
    assert session_error(env, grant.token) == "auth.session_expired"
    with pytest.raises(SessionExpired):
        sessions.authenticate_session(env.ws, env.anon(), grant.token)
    denied = events(env, action="auth.session", outcome="denied")
    assert [e.details_dict()["error"] for e in denied] == ["auth.session_expired"] * 2
    # The caller proved possession of the token, so its owner is named in the log.
    assert all(e.actor == user.name for e in denied)


def test_bad_session_tokens_are_refused(env: Env) -> None:
    user = new_user(env)
    grant = login(env, user)
    _, prefix, secret = grant.token.split("_", 2)
    for token in (
        f"bss_{prefix}_{'A' * len(secret)}",
        f"bsk_{prefix}_{secret}",
        f"bss_{'0' * 16}_{secret}",
        "",
        "bss_x_y",
    ):
        assert session_error(env, token) == "auth.failed", token
    assert authenticate(env, grant.token) is PrincipalKind.USER


def test_logout_revokes_server_side(env: Env) -> None:
    user = new_user(env)
    grant = login(env, user)
    env.clock.advance(30)
    other = login(env, user)
    sessions.logout(env.ws, env.anon(), grant.token)
    assert session_error(env, grant.token) == "auth.session_expired"
    assert authenticate(env, other.token) is PrincipalKind.USER  # other sessions live on
    sessions.logout(env.ws, env.anon(), grant.token)  # logging out twice is harmless
    assert session_error(env, grant.token) == "auth.session_expired"
    _, prefix, secret = other.token.split("_", 2)
    with pytest.raises(AuthenticationFailed):
        sessions.logout(env.ws, env.anon(), f"bss_{prefix}_{'A' * len(secret)}")
    assert authenticate(env, other.token) is PrincipalKind.USER
    assert [e.outcome for e in events(env, action="auth.logout")] == [
        "success",
        "success",
        "denied",
    ]


def test_disabling_a_user_ends_its_sessions(env: Env) -> None:
    user = new_user(env)
    first = login(env, user)
    env.clock.advance(30)
    second = login(env, user)
    principals.disable_principal(env.ws, env.admin, "alice")
    for grant in (first, second):
        assert session_error(env, grant.token) == "auth.session_expired"
    env.clock.advance(30)
    assert login_error(env, user) == "auth.principal_disabled"
    [disabled] = events(env, action="user.disable")
    assert disabled.details_dict()["sessions_ended"] == 2
    with pytest.raises(InvalidInput) as err:
        principals.disable_principal(env.ws, env.admin, "admin")
    assert err.value.code == "identity.self_disable"


def test_service_accounts_cannot_log_in(env: Env) -> None:
    principals.add_principal(env.ws, env.admin, "bot", "service", service_account=True)
    for password in ("", "password", "None"):
        with pytest.raises(AuthenticationFailed) as err:
            sessions.login(env.ws, env.anon(), "bot", password, "123456")
        assert err.value.code == "auth.failed"
    with env.ws.sessions() as session:
        row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == "bot"))
        assert row is not None
        assert row.password_hash is None and row.totp_secret_sealed is None
        assert session.scalar(select(SessionRow).where(SessionRow.principal_id == row.id)) is None


def test_mfa_enroll_replaces_the_secret(env: Env) -> None:
    user = new_user(env)
    assert user.password and user.totp_secret
    ctx = env.login("alice", user.password, user.totp_secret)
    renewed = principals.enroll_mfa(env.ws, ctx)
    assert renewed.totp_secret and renewed.totp_secret != user.totp_secret
    assert renewed.totp_uri and renewed.totp_uri.startswith("otpauth://totp/")
    env.secrets_seen.append(renewed.totp_secret)
    env.clock.advance(30)
    now = env.clock.now().timestamp()
    old_code = env.code(user.totp_secret)
    if old_code in window_codes(renewed.totp_secret, now):
        pytest.skip("astronomically unlikely TOTP collision")  # pragma: no cover
    assert login_error(env, user, otp=old_code) == "auth.failed"
    login(env, user, otp=env.code(renewed.totp_secret))
    [enrolled] = events(env, action="mfa.enroll", outcome="success")
    assert enrolled.actor == "alice" and enrolled.resource == "principal/alice"
    assert renewed.totp_secret not in enrolled.details


def test_admin_reenrolls_another_user(env: Env) -> None:
    user = new_user(env)
    assert user.password and user.totp_secret
    renewed = principals.enroll_mfa(env.ws, env.admin, "alice")
    assert renewed.totp_secret
    if env.code(user.totp_secret) in window_codes(renewed.totp_secret, env.clock.now().timestamp()):
        pytest.skip("astronomically unlikely TOTP collision")  # pragma: no cover
    assert login_error(env, user) == "auth.failed"
    login(env, user, otp=env.code(renewed.totp_secret))


def test_mfa_enroll_refusals(env: Env) -> None:
    user = new_user(env)
    assert user.password and user.totp_secret
    alice = env.login("alice", user.password, user.totp_secret)
    bob = new_user(env, "bob", "engineer")
    # Another user's MFA needs user:create.
    with pytest.raises(PermissionDenied):
        principals.enroll_mfa(env.ws, alice, "bob")
    # An API key is not an MFA session, even for one's own enrolment.
    admin_key = apikeys.create_key(env.ws, env.admin, "admin")
    with pytest.raises(AuthenticationFailed) as auth_err:
        principals.enroll_mfa(env.ws, key_context(env, admin_key.token), "bob")
    assert auth_err.value.code == "auth.mfa_required"
    with pytest.raises(MfaRequired) as mfa_err:
        principals.enroll_mfa(env.ws, key_context(env, admin_key.token))
    assert mfa_err.value.code == "auth.mfa_required"
    # Service accounts have no MFA.
    principals.add_principal(env.ws, env.admin, "bot", "service", service_account=True)
    with pytest.raises(InvalidInput) as err2:
        principals.enroll_mfa(env.ws, env.admin, "bot")
    assert err2.value.code == "identity.not_a_user"
    bot_key = apikeys.create_key(env.ws, env.admin, "bot")
    with pytest.raises(PermissionDenied) as err:
        principals.enroll_mfa(env.ws, key_context(env, bot_key.token))
    assert err.value.code == "identity.not_a_user"
    for anon_target in ("alice", None):
        with pytest.raises(AuthenticationFailed) as auth_err:
            principals.enroll_mfa(env.ws, env.anon(), anon_target)
        assert auth_err.value.code == "auth.failed"
    assert [e.details_dict()["error"] for e in events(env, action="mfa.enroll")] == [
        "access.denied",
        "auth.mfa_required",
        "auth.mfa_required",
        "identity.not_a_user",
        "identity.not_a_user",
        "auth.failed",
        "auth.failed",
    ]
    # Nobody's secret changed: both still log in with their original seeds.
    assert bob.totp_secret
    login(env, user)
    login(env, bob)
