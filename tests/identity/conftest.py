"""Identity tests create and log in many users: use cheap Argon2id parameters.

Production parameters cost about half a second per hash or verify, which would make these
tests slow without testing anything more; the algorithm and code path stay the same.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from bastion.identity import credentials


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap in a low-cost Argon2id hasher for the duration of each test."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(credentials, "_hasher", hasher)
    monkeypatch.setattr(credentials, "_DUMMY_HASH", hasher.hash("not-a-real-password"))
