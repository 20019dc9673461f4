"""User and usage errors: a stable ``error[code]`` line, a hint, an exit code, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Admin, Cli, login

BASTION_EXE = Path(sys.executable).with_name("bastion")


def test_bad_duration(cli: Cli, admin: Admin) -> None:
    cli.ok("user", "add", "bot", "--role", "service", "--service-account")
    result = cli.fails(
        2,
        "input.bad_duration",
        "key",
        "create",
        "--principal",
        "bot",
        "--expires-in",
        "5x",
        "--json",
    )
    error = result.json()["error"]
    assert error["code"] == "input.bad_duration" and "5x" in error["message"]
    assert "hint: Use a number and a unit" in result.err
    cli.fails(2, "input.bad_duration", "key", "rotate", "0123456789abcdef", "--overlap", "soon")
    assert cli.ok("key", "list", "--json").json() == []


def test_unknown_role_and_unknown_user(cli: Cli, admin: Admin) -> None:
    result = cli.fails(
        3, "identity.role_not_found", "user", "add", "xavier", "--role", "nope", "--json"
    )
    assert result.json()["error"]["code"] == "identity.role_not_found"
    cli.fails(3, "identity.principal_not_found", "key", "create", "--principal", "nobody")
    cli.fails(3, "identity.principal_not_found", "user", "disable", "nobody")
    cli.fails(3, "identity.principal_not_found", "mfa", "enroll", "--user", "ghost")
    cli.fails(2, "identity.bad_name", "user", "add", "X", "--role", "analyst")
    cli.fails(4, "identity.", "user", "add", "admin", "--role", "analyst")
    assert {u["name"] for u in cli.ok("user", "list", "--json").json()} == {"admin"}


def test_no_workspace(cli: Cli) -> None:
    result = cli.fails(7, "workspace.not_found", "user", "list")
    assert "hint: Run 'bastion init'" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        ["user", "add"],
        ["user", "add", "alice"],
        ["key", "create", "--principal"],
        ["audit", "query", "--limit", "many"],
        ["--no-such-flag", "user", "list"],
    ],
)
def test_usage_errors_exit_2(cli: Cli, argv: list[str]) -> None:
    result = cli(*argv)
    assert result.code == 2, str(result)
    assert "Error" in result.err
    assert "Traceback" not in result.out + result.err


def test_help_exits_0(cli: Cli) -> None:
    result = cli.ok("--help")
    for command in ("init", "login", "logout", "user", "key", "audit", "demo"):
        assert command in result.out
    assert cli("user").code in (0, 2)  # no_args_is_help: help text, never a crash
    assert "Usage:" in cli.history[-1].out + cli.history[-1].err


def _run_exe(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # list args, no shell
        [str(BASTION_EXE), *args],
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(not BASTION_EXE.exists(), reason="the console script is not installed")
def test_console_script_runs_and_user_errors_show_no_traceback(cli: Cli) -> None:
    ok = _run_exe(["role", "permissions", "--json"], cli.root)
    assert ok.returncode == 0, ok.stderr
    names = {p["name"] for p in json.loads(ok.stdout)}
    assert {"user:read", "audit:verify"} <= names

    # A user error in a real process: the error line and hint, no traceback.
    bad = _run_exe(["user", "list", "--json"], cli.root)
    assert bad.returncode == 7
    assert bad.stderr.startswith("error[workspace.not_found]:")
    assert "hint:" in bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr
    assert json.loads(bad.stdout)["error"]["code"] == "workspace.not_found"


def test_markup_like_text_is_printed_verbatim(cli: Cli, tmp_path: Path) -> None:
    """Paths, grants and audit details are data: Rich markup in them is neither applied nor
    allowed to crash a command (which, at init, would lose the master key shown once)."""
    target = tmp_path / "odd[/]name [bold]x"  # the "/" makes it two folders deep
    target.mkdir(parents=True)
    result = cli.ok("init", "--path", str(target))
    assert f"Workspace created in {target / '.bastion'}" in result.out
    master_key = result.out.split("BASTION_MASTER_KEY=", 1)[1].split()[0]
    assert len(master_key) == 43
    assert "Traceback" not in result.out + result.err

    password = result.out.split("password:", 1)[1].split()[0]
    totp_secret = result.out.split("TOTP secret:", 1)[1].split()[0]
    cli.setenv("BASTION_WORKSPACE", str(target))
    cli.setenv("BASTION_MASTER_KEY", master_key)
    login(cli, "admin", password, totp_secret)
    grant = "model:read@models/[/]x"
    assert grant in cli.ok("role", "grant", "analyst", grant).out
    assert "analyst" in cli.ok("role", "list").out  # the table: cells are not markup
    assert grant in json.dumps(cli.ok("role", "list", "--json").json())
    cli.ok("audit", "query", "--action", "role.*")
    cli.ok("access", "review")
