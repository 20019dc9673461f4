"""Shared fixtures: real workspaces on SQLite and, where a server is given, PostgreSQL.

``BASTION_TEST_POSTGRES_URL`` names a PostgreSQL server (``.ci/run`` starts one); each
test that uses the ``db_url`` fixture then runs on both databases, each PostgreSQL test
in a fresh database of its own. In CI a missing server is a failure, never a skip.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bastion.bootstrap import initialize
from bastion.clock import FixedClock
from bastion.config import Secret, Settings
from bastion.context import ANONYMOUS, Context
from bastion.crypto.keyring import generate_master_key
from bastion.identity import credentials, principals, sessions
from bastion.workspace import Workspace

PG_URL = os.environ.get("BASTION_TEST_POSTGRES_URL")
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
START = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


def _db_params() -> list[object]:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=_db_params())
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the embedded SQLite default, else the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    yield from _fresh_postgres()


@pytest.fixture
def pg_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database only (for behaviour SQLite's locking rules out)."""
    yield from _fresh_postgres()


def _fresh_postgres() -> Iterator[str | None]:
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must set BASTION_TEST_POSTGRES_URL (see .ci/run)")
        pytest.skip("no PostgreSQL server: set BASTION_TEST_POSTGRES_URL (CI always does)")
    name = f"bastion_t_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Hsm:
    """A real SoftHSM2 token initialised for this test session."""

    module: str
    token: str
    pin: str


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Hsm:
    """A fresh SoftHSM2 token (``.ci/run`` installs softhsm2; CI never skips this)."""
    module = next((m for m in SOFTHSM_MODULES if os.path.exists(m)), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install softhsm2 (see .ci/run)")
        pytest.skip("SoftHSM2 is not installed (apt install softhsm2; CI always has it)")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    # Read by the library when it is first loaded; the whole session shares this token.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    pin = secrets.token_hex(8)
    subprocess.run(
        [
            util,
            "--init-token",
            "--free",
            "--label",
            "bastion-test",
            "--pin",
            pin,
            "--so-pin",
            secrets.token_hex(8),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    return Hsm(module, "bastion-test", pin)


def totp_seed(secret_b32: str) -> bytes:
    """Decode a base32 TOTP secret as shown to users."""
    return base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))


@dataclass
class Env:
    """A live workspace with a logged-in admin, and helpers to add and log in people."""

    ws: Workspace
    clock: FixedClock
    settings: Settings
    admin_password: str
    admin_totp: str
    admin: Context = field(init=False)
    secrets_seen: list[str] = field(default_factory=list)

    def anon(self) -> Context:
        """An unauthenticated context."""
        return Context(principal=ANONYMOUS, source="127.0.0.1", clock=self.clock)

    def code(self, totp_b32: str) -> str:
        """The TOTP code valid now on the fixed clock."""
        return credentials.totp_code(totp_seed(totp_b32), self.clock.now().timestamp())

    def login(self, name: str, password: str, totp_b32: str) -> Context:
        """Log in with password + TOTP and return the session's context."""
        grant = sessions.login(self.ws, self.anon(), name, password, self.code(totp_b32))
        self.secrets_seen.append(grant.token)
        # Each TOTP code works once: move to the next time step for the next login.
        self.clock.advance(30)
        return self.anon().as_(sessions.authenticate_session(self.ws, self.anon(), grant.token))

    def user(self, name: str, role: str) -> Context:
        """Create a user with ``role`` and return a logged-in context for it."""
        new = principals.add_principal(self.ws, self.admin, name, role)
        assert new.password and new.totp_secret
        self.secrets_seen += [new.password, new.totp_secret]
        return self.login(name, new.password, new.totp_secret)


def make_env(tmp_path: Path, db_url: str | None, *, hsm: Hsm | None = None) -> Env:
    """Initialise a workspace with a fast master key and log the admin in.

    With ``hsm`` the vault's key provider is that PKCS#11 token instead of the keyring.
    """
    clock = FixedClock(START)
    master = generate_master_key()
    settings = Settings(
        workspace=tmp_path / "ws",
        database_url=db_url,
        master_key=Secret(master),
        state_dir=tmp_path / "state",
        vault_chunk_size=4096,
    )
    if hsm is not None:
        settings = settings.with_overrides(
            key_provider="pkcs11",
            pkcs11_module=hsm.module,
            pkcs11_token=hsm.token,
            pkcs11_pin=Secret(hsm.pin),
        )
    result = initialize(settings, clock=clock)
    assert result.admin.password and result.admin.totp_secret
    env = Env(result.workspace, clock, settings, result.admin.password, result.admin.totp_secret)
    env.secrets_seen += [master, result.admin.password, result.admin.totp_secret]
    env.admin = env.login("admin", result.admin.password, result.admin.totp_secret)
    return env


@pytest.fixture
def env(tmp_path: Path, db_url: str | None) -> Iterator[Env]:
    """A fresh workspace on each database, closed after the test."""
    e = make_env(tmp_path, db_url)
    try:
        yield e
    finally:
        e.ws.close()


@pytest.fixture
def pg_env(tmp_path: Path, pg_url: str | None) -> Iterator[Env]:
    """A fresh workspace on PostgreSQL only."""
    e = make_env(tmp_path, pg_url)
    try:
        yield e
    finally:
        e.ws.close()


@pytest.fixture
def sqlite_env(tmp_path: Path) -> Iterator[Env]:
    """A fresh workspace on SQLite only (for file-level tests)."""
    e = make_env(tmp_path, None)
    try:
        yield e
    finally:
        e.ws.close()
