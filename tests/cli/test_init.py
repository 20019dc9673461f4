"""``bastion init``: what it shows once, refusing a second init, and how it is sealed."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from bastion.crypto.keyring import generate_master_key
from tests.cli.conftest import Cli, login


def _audit_count(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])


def _fingerprint(bastion_dir: Path) -> dict[str, str]:
    """sha256 of every file in .bastion/ (database, WAL if any, keyring, config)."""
    return {
        str(p.relative_to(bastion_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(bastion_dir.rglob("*"))
        if p.is_file()
    }


def test_init_json_shows_admin_and_generated_master_key(cli: Cli) -> None:
    doc = cli.ok("init", "--json").json()

    assert set(doc) == {"workspace", "admin", "master_key"}
    assert Path(doc["workspace"]) == cli.workspace.resolve()
    admin = doc["admin"]
    assert admin["name"] == "admin"
    assert len(admin["password"]) >= 16
    uri = urlparse(admin["totp_uri"])
    assert uri.scheme == "otpauth"
    assert parse_qs(uri.query)["secret"] == [admin["totp_secret"]]
    assert len(doc["master_key"]) == 43  # 32 bytes, base64url without padding

    bastion_dir = cli.workspace / ".bastion"
    for name in ("bastion.db", "keyring.json", "config.toml"):
        assert (bastion_dir / name).is_file()
    assert stat.S_IMODE(os.stat(bastion_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(bastion_dir / "keyring.json").st_mode) == 0o600
    # Nothing was created in the current folder: BASTION_WORKSPACE was honoured.
    assert not (Path.cwd() / ".bastion").exists()

    # The credentials shown work.
    cli.setenv("BASTION_MASTER_KEY", doc["master_key"])
    login(cli, "admin", admin["password"], admin["totp_secret"])


def test_init_human_output_and_explicit_path(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    result = cli.ok("init", "--path", str(target), "--admin", "root")
    assert "BASTION_MASTER_KEY=" in result.out
    assert "First admin 'root'" in result.out
    assert (target / ".bastion" / "keyring.json").is_file()
    assert not (cli.workspace / ".bastion").exists()


def test_init_honours_global_workspace_option(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "via-option"
    doc = cli.ok("--workspace", str(target), "init", "--json").json()
    assert Path(doc["workspace"]) == target.resolve()
    assert (target / ".bastion" / "keyring.json").is_file()
    assert not (cli.workspace / ".bastion").exists()
    cli.setenv("BASTION_MASTER_KEY", doc["master_key"])
    cli.fails(5, "auth.failed", "-w", str(target), "user", "list")  # it opens


def test_second_init_fails_with_workspace_exists(cli: Cli) -> None:
    cli.ok("init", "--json")
    before = _fingerprint(cli.workspace / ".bastion")

    result = cli.fails(7, "workspace.exists", "init", "--json")
    assert result.json()["error"]["code"] == "workspace.exists"
    assert "hint:" in result.err
    assert _fingerprint(cli.workspace / ".bastion") == before


def test_init_with_passphrase_opens_only_with_that_passphrase(cli: Cli) -> None:
    passphrase = "correct horse battery staple"
    doc = cli.ok("init", "--passphrase-stdin", "--json", stdin=passphrase + "\n").json()
    assert "master_key" not in doc
    admin = doc["admin"]
    assert passphrase not in cli.history[-1].out

    # No secret at all, a master key, or a wrong passphrase: the keyring stays shut.
    cli.fails(2, "keyring.no_master_secret", "user", "list")
    cli.setenv("BASTION_MASTER_KEY", generate_master_key())
    cli.fails(8, "keyring.wrong_master_key", "user", "list")
    cli.delenv("BASTION_MASTER_KEY")
    cli.setenv("BASTION_PASSPHRASE", "not the passphrase")
    cli.fails(8, "keyring.wrong_master_key", "user", "list")

    cli.setenv("BASTION_PASSPHRASE", passphrase)
    login(cli, "admin", admin["password"], admin["totp_secret"])
    names = [row["name"] for row in cli.ok("user", "list", "--json").json()]
    assert names == ["admin"]


def test_init_passphrase_stdin_empty_is_an_input_error(cli: Cli) -> None:
    cli.fails(2, "input.missing_stdin", "init", "--passphrase-stdin", stdin="")
    assert not (cli.workspace / ".bastion").exists()


def test_wrong_master_key_fails_and_changes_nothing(cli: Cli) -> None:
    doc = cli.ok("init", "--json").json()
    cli.setenv("BASTION_MASTER_KEY", doc["master_key"])
    login(cli, "admin", doc["admin"]["password"], doc["admin"]["totp_secret"])
    cli.ok("user", "list", "--json")

    bastion_dir = cli.workspace / ".bastion"
    db = bastion_dir / "bastion.db"
    events = _audit_count(db)  # also folds any WAL into the main file
    before = _fingerprint(bastion_dir)

    cli.setenv("BASTION_MASTER_KEY", generate_master_key())
    result = cli.fails(8, "keyring.wrong_master_key", "user", "list", "--json")
    assert result.json()["error"]["code"] == "keyring.wrong_master_key"
    assert "hint:" in result.err
    cli.fails(8, "keyring.wrong_master_key", "audit", "verify")

    assert _fingerprint(bastion_dir) == before
    assert _audit_count(db) == events

    # The right key still opens it, and the chain is intact.
    cli.setenv("BASTION_MASTER_KEY", doc["master_key"])
    report = cli.ok("audit", "verify", "--json").json()
    assert report["ok"] is True
