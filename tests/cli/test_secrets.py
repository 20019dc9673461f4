"""Secrets are shown once, at creation, and never again: not in output, exports or storage."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.cli.conftest import Admin, Cli, login
from tests.conftest import totp_seed


def _token_parts(token: str) -> list[str]:
    """A token and its secret part (``bsk_<prefix>_<secret>``): the prefix is public."""
    kind, prefix, secret = token.split("_", 2)
    assert kind in ("bsk", "bss") and len(prefix) == 16 and len(secret) >= 32
    return [token, secret]


def test_secrets_never_appear_after_creation(cli: Cli, admin: Admin) -> None:
    texts: list[str] = [admin.master_key, admin.password, admin.totp_secret]
    raw: list[bytes] = [
        base64.urlsafe_b64decode(admin.master_key + "="),
        totp_seed(admin.totp_secret),
    ]
    texts += _token_parts(admin.token)

    alice = cli.ok("user", "add", "alice", "--role", "analyst", "--json").json()
    texts += [alice["password"], alice["totp_secret"]]
    raw.append(totp_seed(alice["totp_secret"]))
    cli.ok("user", "add", "bot", "--role", "service", "--service-account", "--json")
    first = cli.ok(
        "key", "create", "--principal", "bot", "--scope", "model:predict", "--name", "ci", "--json"
    ).json()
    second = cli.ok("key", "rotate", first["prefix"], "--json").json()
    human = cli.ok("key", "create", "--principal", "bot", "--expires-in", "1d")
    human_token = next(w for w in human.out.split() if w.startswith("bsk_"))
    for token in (first["token"], second["token"], human_token):
        texts += _token_parts(token)
    mfa = cli.ok("mfa", "enroll", "--json").json()
    texts.append(mfa["totp_secret"])
    raw.append(totp_seed(mfa["totp_secret"]))
    # Alice logs in with a state folder of her own (the admin's stored session stays).
    cli.setenv("BASTION_STATE_DIR", str(cli.root / "alice-state"))
    alice_token = login(cli, "alice", alice["password"], alice["totp_secret"])
    texts += _token_parts(alice_token)
    # A wrong password tried at login must not be kept anywhere either.
    guess = "Guessed-Passw0rd-For-Alice"
    texts.append(guess)
    cli.fails(
        5,
        "auth.",
        "login",
        "--user",
        "alice",
        "--password-stdin",
        "--otp",
        "123456",
        stdin=guess + "\n",
    )
    cli.setenv("BASTION_STATE_DIR", str(cli.state_dir))
    for secret in texts:
        assert any(secret in r.out for r in cli.history) or secret == guess

    mark = len(cli.history)
    export_file = cli.root / "export.jsonl"
    cli.ok("key", "revoke", first["prefix"])
    for argv in (
        ["user", "list", "--json"],
        ["user", "list"],
        ["role", "list", "--json"],
        ["key", "list", "--json"],
        ["key", "list"],
        ["access", "review", "--json"],
        ["access", "review"],
        ["audit", "query", "--json"],
        ["audit", "query"],
        ["audit", "verify", "--json"],
        ["audit", "export", "--format", "ocsf"],
        ["audit", "export", "--format", "jsonl"],
        ["audit", "export", "--format", "jsonl", "-o", str(export_file)],
    ):
        cli.ok(*argv)
    # Refusals must not echo the credential presented.
    cli.fails(5, "auth.", "--api-key", first["token"], "user", "list", "--json")
    cli.fails(6, "access.denied", "--api-key", second["token"], "user", "list", "--json")
    cli.setenv("BASTION_SESSION", alice_token)
    cli.fails(6, "access.denied", "user", "list", "--json")
    cli.delenv("BASTION_SESSION")
    cli.ok("logout")
    cli.setenv("BASTION_SESSION", admin.token)
    cli.fails(5, "auth.", "audit", "verify", "--json")
    cli.delenv("BASTION_SESSION")
    later = cli.history[mark:]
    assert any('"action": "user.create"' in r.out for r in later)  # the dump really ran

    bastion_dir = cli.workspace / ".bastion"
    stored: dict[str, bytes] = {
        name: (bastion_dir / name).read_bytes()
        for name in (
            "bastion.db",
            "bastion.db-wal",
            "bastion.db-shm",
            "config.toml",
            "keyring.json",
        )
        if (bastion_dir / name).exists()
    }
    assert "bastion.db" in stored and "config.toml" in stored
    stored["export.jsonl"] = export_file.read_bytes()
    # Control: the scan sees live data (public facts like key prefixes are stored).
    assert any(first["prefix"].encode() in data for data in stored.values())
    assert any(b"alice" in data for name, data in stored.items() if name.startswith("bastion"))

    for secret in texts:
        for result in later:
            assert secret not in result.out, f"secret in stdout of {result.args}"
            assert secret not in result.err, f"secret in stderr of {result.args}"
        for name, data in stored.items():
            assert secret.encode() not in data, f"a secret is stored in {name}"
    for secret_bytes in raw:
        for name, data in stored.items():
            assert secret_bytes not in data, f"raw key material is stored in {name}"


def test_human_output_of_creation_shows_secrets_once(cli: Cli, admin: Admin) -> None:
    created = cli.ok("user", "add", "dave", "--role", "engineer")
    lines = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in created.out.splitlines()
        if ":" in line
    }
    password = lines["password (shown once)"]
    totp_secret = lines["TOTP secret (shown once)"]
    listing = cli.ok("user", "list").out + cli.ok("user", "list", "--json").out
    assert password not in listing and totp_secret not in listing
    assert (Path(cli.workspace) / ".bastion" / "bastion.db").read_bytes().find(
        password.encode()
    ) == -1
