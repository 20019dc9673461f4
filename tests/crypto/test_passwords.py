"""Production password hashing parameters (identity tests swap in cheap ones for speed)."""

from __future__ import annotations

from bastion.identity import credentials


def test_passwords_use_argon2id_with_production_cost() -> None:
    stored = credentials.hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert credentials.verify_password(stored, "correct horse battery staple")
    assert not credentials.verify_password(stored, "Correct horse battery staple")
    assert not credentials.verify_password(None, "anything")
    assert not credentials.verify_password("not-a-hash", "anything")
