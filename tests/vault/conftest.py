"""Vault fixtures: every vault test runs on each database with each key provider.

``vault_env`` is parametrized over the ``local`` keyring provider and ``pkcs11`` (a real
SoftHSM2 token), on top of ``db_url`` (SQLite, and PostgreSQL when a server is given), so
the same tests show that the vault behaves identically whatever holds the KEKs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bastion.identity import credentials
from tests.conftest import Env, Hsm, make_env

PROVIDERS = ["local", "pkcs11"]


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at minimum cost for the admin and test users' passwords.

    Passwords are not under test here, and at full cost the two hashes per workspace
    (the admin's, then its login) would be most of this folder's run time. The identity
    tests cover hashing at the real parameters.
    """
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(credentials, "_hasher", cheap)


def _hsm_for(request: pytest.FixtureRequest, provider: str) -> Hsm | None:
    # Only pkcs11 runs need the token: local runs never touch (or skip on) SoftHSM2.
    if provider == "pkcs11":
        hsm: Hsm = request.getfixturevalue("softhsm")
        return hsm
    return None


@pytest.fixture(params=PROVIDERS)
def vault_env(request: pytest.FixtureRequest, tmp_path: Path, db_url: str | None) -> Iterator[Env]:
    """A fresh workspace on each database, with each key provider."""
    e = make_env(tmp_path, db_url, hsm=_hsm_for(request, request.param))
    try:
        yield e
    finally:
        e.ws.close()


@pytest.fixture(params=PROVIDERS)
def sqlite_vault_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """A fresh workspace on SQLite only (for file-level checks), with each key provider."""
    e = make_env(tmp_path, None, hsm=_hsm_for(request, request.param))
    try:
        yield e
    finally:
        e.ws.close()
