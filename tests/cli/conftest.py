"""Fixtures for end-to-end CLI tests: the real ``bastion`` app, driven in-process.

Every test gets its own HOME, state folder and workspace folder under ``tmp_path``, and
an environment with no ``BASTION_*`` variable left over from the caller's shell.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bastion.cli.main import run
from bastion.identity import credentials
from tests.conftest import totp_seed

BASTION_ENV = (
    "BASTION_WORKSPACE",
    "BASTION_MASTER_KEY",
    "BASTION_PASSPHRASE",
    "BASTION_API_KEY",
    "BASTION_SESSION",
    "BASTION_STATE_DIR",
    "BASTION_DATABASE_URL",
    "BASTION_SESSION_TTL",
    "BASTION_AUDIT_CHECKPOINT_EVERY",
    "XDG_STATE_HOME",
    "BASTION_KEY_PROVIDER",
    "BASTION_PKCS11_MODULE",
    "BASTION_PKCS11_TOKEN",
    "BASTION_PKCS11_PIN",
    "BASTION_REDIS_URL",
    "BASTION_GATEWAY_CONFIG",
    "BASTION_GATEWAY_MODELS",
    "BASTION_GATEWAY_INSECURE_HTTP",
    "BASTION_GATEWAY_AUTH_CACHE_S",
)


@dataclass(frozen=True)
class Result:
    """One CLI invocation: exit code, stdout and stderr."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as one JSON document."""
        return json.loads(self.out)

    def __str__(self) -> str:
        return (
            f"bastion {' '.join(self.args)} -> {self.code}\n"
            f"stdout:\n{self.out}\nstderr:\n{self.err}"
        )


@dataclass
class Cli:
    """Runs ``bastion`` in-process with captured output and a private environment."""

    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    root: Path
    history: list[Result] = field(default_factory=list)

    @property
    def workspace(self) -> Path:
        return self.root / "ws"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        code = run(list(args))
        captured = self.capsys.readouterr()
        result = Result(tuple(args), code, captured.out, captured.err)
        self.history.append(result)
        return result

    def ok(self, *args: str, stdin: str | None = None) -> Result:
        """Run and insist on exit code 0."""
        result = self(*args, stdin=stdin)
        assert result.code == 0, str(result)
        return result

    def fails(self, code: int, error: str, *args: str, stdin: str | None = None) -> Result:
        """Run and insist on an exit code and ``error[code]`` line, with no traceback.

        An ``error`` ending in a dot matches any code in that family (``"auth."``).
        """
        result = self(*args, stdin=stdin)
        assert result.code == code, str(result)
        wanted = f"error[{error}" if error.endswith(".") else f"error[{error}]"
        assert result.err.startswith(wanted), str(result)
        assert "Traceback" not in result.out + result.err, str(result)
        return result

    def setenv(self, name: str, value: str) -> None:
        self.monkeypatch.setenv(name, value)

    def delenv(self, name: str) -> None:
        self.monkeypatch.delenv(name, raising=False)


def otp(totp_secret: str, at: float | None = None) -> str:
    """The TOTP code of a base32 secret, now or at a given Unix time."""
    return credentials.totp_code(totp_seed(totp_secret), time.time() if at is None else at)


def refused_login(cli: Cli, user: str, password: str, code: str) -> Result:
    """``bastion login`` that must fail with the one generic ``auth.failed`` (exit 5)."""
    return cli.fails(
        5,
        "auth.failed",
        "login",
        "--user",
        user,
        "--password-stdin",
        "--otp",
        code,
        stdin=password + "\n",
    )


def login(cli: Cli, user: str, password: str, totp_secret: str, *, at: float | None = None) -> str:
    """``bastion login`` with the password on stdin; returns the session token."""
    result = cli.ok(
        "login",
        "--user",
        user,
        "--password-stdin",
        "--otp",
        otp(totp_secret, at),
        "--json",
        stdin=password + "\n",
    )
    doc = result.json()
    assert doc["user"] == user
    return str(doc["token"])


@dataclass(frozen=True)
class Admin:
    """A workspace made by ``bastion init`` with its admin logged in via ``bastion login``."""

    init: dict[str, Any]
    token: str

    @property
    def password(self) -> str:
        return str(self.init["admin"]["password"])

    @property
    def totp_secret(self) -> str:
        return str(self.init["admin"]["totp_secret"])

    @property
    def master_key(self) -> str:
        return str(self.init["master_key"])


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    """An isolated CLI: HOME, state and workspace folders under tmp_path, cwd elsewhere."""
    for name in BASTION_ENV:
        monkeypatch.delenv(name, raising=False)
    c = Cli(capsys, monkeypatch, tmp_path)
    for folder in (tmp_path / "home", c.state_dir, c.workspace, tmp_path / "cwd"):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BASTION_STATE_DIR", str(c.state_dir))
    monkeypatch.setenv("BASTION_WORKSPACE", str(c.workspace))
    monkeypatch.chdir(tmp_path / "cwd")
    yield c


@pytest.fixture
def admin(cli: Cli) -> Admin:
    """``bastion init --json``, export the master key, ``bastion login`` as admin.

    The login uses the previous time step's code, so that a test can log the admin in
    once more with the current code (each step's code is accepted once per user).
    """
    doc = cli.ok("init", "--json").json()
    cli.setenv("BASTION_MASTER_KEY", doc["master_key"])
    # The previous step's code is accepted only while the clock stays in this step; a
    # login (Argon2id at full cost) that straddled a step boundary on a loaded machine
    # would present a code two steps old. Start it with time to spare in the step.
    into_step = time.time() % 30
    if into_step > 24:
        time.sleep(30.5 - into_step)
    token = login(
        cli, "admin", doc["admin"]["password"], doc["admin"]["totp_secret"], at=time.time() - 30
    )
    return Admin(doc, token)
