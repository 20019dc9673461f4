"""Who the CLI acts as: no credential, API keys, BASTION_SESSION, the stored session, logout."""

from __future__ import annotations

from tests.cli.conftest import Admin, Cli, login, otp, refused_login


def test_without_credentials_commands_fail_with_auth_failed(cli: Cli) -> None:
    doc = cli.ok("init", "--json").json()
    cli.setenv("BASTION_MASTER_KEY", doc["master_key"])
    result = cli.fails(5, "auth.failed", "user", "list", "--json")
    assert result.json()["error"]["code"] == "auth.failed"
    assert "hint: Log in with 'bastion login'" in result.err
    cli.fails(5, "auth.failed", "audit", "verify")
    cli.fails(5, "auth.no_session", "logout")

    # The refusals were audited (seen once the admin logs in).
    login(cli, "admin", doc["admin"]["password"], doc["admin"]["totp_secret"])
    denied = cli.ok(
        "audit", "query", "--json", "--outcome", "denied", "--actor", "anonymous"
    ).json()
    assert {e["action"] for e in denied} >= {"user.list", "audit.verify"}


def test_service_api_key_is_denied_user_list(cli: Cli, admin: Admin) -> None:
    cli.ok("user", "add", "bot", "--role", "service", "--service-account")
    token = cli.ok("key", "create", "--principal", "bot", "--json").json()["token"]

    result = cli.fails(6, "access.denied", "--api-key", token, "user", "list", "--json")
    error = result.json()["error"]
    assert error["code"] == "access.denied" and "bot" in error["message"]
    assert "hint:" in result.err

    # The same key from the environment; it wins over the stored admin session.
    cli.setenv("BASTION_API_KEY", token)
    cli.fails(6, "access.denied", "user", "list")
    # ... and over BASTION_SESSION too.
    cli.setenv("BASTION_SESSION", admin.token)
    cli.fails(6, "access.denied", "user", "list")
    cli.delenv("BASTION_SESSION")
    # Nor may the service account create users with it.
    cli.fails(6, "access.denied", "user", "add", "mallory", "--role", "admin")
    # A malformed key is an authentication failure, not a crash.
    cli.setenv("BASTION_API_KEY", "bsk_nonsense")
    cli.fails(5, "auth.", "user", "list")
    cli.delenv("BASTION_API_KEY")

    denied = cli.ok("audit", "query", "--json", "--outcome", "denied", "--actor", "bot").json()
    assert len([e for e in denied if e["action"] == "user.list"]) == 3
    assert any(e["action"] == "user.create" for e in denied)


def test_bastion_session_takes_precedence_over_stored_session(cli: Cli, admin: Admin) -> None:
    alice = cli.ok("user", "add", "alice", "--role", "analyst", "--json").json()
    # Log alice in with a separate state folder so that the admin's stored session stays.
    cli.setenv("BASTION_STATE_DIR", str(cli.root / "alice-state"))
    alice_token = login(cli, "alice", alice["password"], alice["totp_secret"])
    cli.setenv("BASTION_STATE_DIR", str(cli.state_dir))

    cli.ok("user", "list")  # the stored admin session
    cli.setenv("BASTION_SESSION", alice_token)
    result = cli.fails(6, "access.denied", "user", "list", "--json")
    assert "alice" in result.json()["error"]["message"]

    # A bad BASTION_SESSION does not fall back to the stored session either.
    cli.setenv("BASTION_SESSION", "bss_0000000000000000_" + "A" * 43)
    cli.fails(5, "auth.", "user", "list")

    cli.delenv("BASTION_SESSION")
    names = {u["name"] for u in cli.ok("user", "list", "--json").json()}
    assert names == {"admin", "alice"}


def test_logout_revokes_the_session(cli: Cli, admin: Admin) -> None:
    session_files = list((cli.state_dir / "sessions").iterdir())
    assert len(session_files) == 1

    assert "revoked" in cli.ok("logout").out
    assert not session_files[0].exists()
    cli.fails(5, "auth.failed", "user", "list")
    cli.fails(5, "auth.no_session", "logout")

    # The printed token no longer works, even when given explicitly.
    cli.setenv("BASTION_SESSION", admin.token)
    cli.fails(5, "auth.", "user", "list")
    cli.fails(5, "auth.", "logout")

    # A fresh login (with the current code: the fixture used the previous step's) works.
    cli.delenv("BASTION_SESSION")
    token = login(cli, "admin", admin.password, admin.totp_secret)
    assert token != admin.token
    cli.ok("user", "list")


def test_totp_code_cannot_be_replayed(cli: Cli, admin: Admin) -> None:
    code = otp(admin.totp_secret)
    token = login(cli, "admin", admin.password, admin.totp_secret)
    assert token != admin.token
    result = refused_login(cli, "admin", admin.password, code)
    assert "each code works once" in result.err
