"""Reversible tokens on a real workspace: stable, sealed, permissioned and audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from bastion.audit.service import query_events
from bastion.audit.store import AuditQuery
from bastion.data.sanitize import Sanitizer, policy_from_dict, sanitize_file
from bastion.data.sanitize.tokens import TokenVault, detokenize, find_tokens
from bastion.db.engine import transaction
from bastion.db.models import DataTokenRow
from bastion.errors import EncryptedObjectError, InvalidInput, NotFound, PermissionDenied
from tests.conftest import Env
from tests.data.sanitize.conftest import TYPES, regex_detect


def test_same_value_same_token_across_runs(env: Env) -> None:
    first = TokenVault(env.ws, env.admin)
    a = first.tokenize("US_SSN", "123-45-6789")
    assert a == first.tokenize("US_SSN", "123-45-6789") and first.pending == 1
    assert a != first.tokenize("PERSON", "123-45-6789")
    assert first.commit() == 2
    second = TokenVault(env.ws, env.admin)
    assert second.tokenize("US_SSN", "123-45-6789") == a and second.pending == 0


def test_values_are_sealed_not_stored(env: Env) -> None:
    vault = TokenVault(env.ws, env.admin)
    vault.tokenize("US_SSN", "123-45-6789")
    vault.commit()
    with transaction(env.ws.sessions) as session:
        row = session.scalars(select(DataTokenRow)).one()
    assert b"123-45-6789" not in row.sealed and "123-45-6789" not in row.lookup


def test_detokenize_needs_its_own_permission_and_is_audited(env: Env) -> None:
    vault = TokenVault(env.ws, env.admin)
    token = vault.tokenize("PERSON", "Alice Smith")
    vault.commit()
    scientist = env.user("dana", "data_scientist")  # may read data, not reverse tokens
    with pytest.raises(PermissionDenied):
        detokenize(env.ws, scientist, [token])
    assert detokenize(env.ws, env.admin, [token, token]) == {token: "Alice Smith"}
    events = query_events(env.ws, env.admin, AuditQuery(action="data.detokenize"))
    outcomes = sorted(e.outcome for e in events)
    assert outcomes == ["denied", "success"]
    assert all("Alice" not in str(e.details) for e in events)


def test_unknown_malformed_and_tampered_tokens(env: Env) -> None:
    with pytest.raises(InvalidInput):
        detokenize(env.ws, env.admin, ["<tok:PERSON:short>"])
    with pytest.raises(NotFound):
        detokenize(env.ws, env.admin, ["<tok:PERSON:AAAAAAAAAAAAAAAA>"])
    vault = TokenVault(env.ws, env.admin)
    a = vault.tokenize("PERSON", "Alice Smith")
    b = vault.tokenize("PERSON", "Bob Jones")
    vault.commit()
    with transaction(env.ws.sessions) as session:  # swap the sealed values between rows
        rows = {r.token: r.sealed for r in session.scalars(select(DataTokenRow))}
        session.execute(update(DataTokenRow).where(DataTokenRow.token == a).values(sealed=rows[b]))
    with pytest.raises(EncryptedObjectError):
        detokenize(env.ws, env.admin, [a])


def test_tokenized_file_round_trips(env: Env, tmp_path: Path) -> None:
    policy = policy_from_dict({"types": {"PERSON": "tokenize"}}, known_types=TYPES)
    vault = TokenVault(env.ws, env.admin)
    src = tmp_path / "notes.txt"
    src.write_text("Alice Smith met Bob Jones; Alice Smith paid.\n")
    sanitize_file(
        src,
        tmp_path / "out.txt",
        Sanitizer(policy, regex_detect, tokens=vault),
        before_publish=vault.commit,
    )
    text = (tmp_path / "out.txt").read_text()
    tokens = find_tokens(text)
    assert len(tokens) == 2 and "Alice" not in text
    values = detokenize(env.ws, env.admin, tokens)
    restored = text
    for token, value in values.items():
        restored = restored.replace(token, value)
    assert restored == src.read_text()


def test_concurrent_callers_share_one_stored_token(env: Env) -> None:
    """Polars runs the sanitizer on several threads: every caller gets the same token for
    a value, and that token is the one stored (a race once wrote unstored tokens)."""
    from concurrent.futures import ThreadPoolExecutor

    vault = TokenVault(env.ws, env.admin)
    values = [f"Person {i % 7}" for i in range(400)]
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(lambda v: vault.tokenize("PERSON", v), values))
    by_value: dict[str, set[str]] = {}
    for value, token in zip(values, tokens, strict=True):
        by_value.setdefault(value, set()).add(token)
    assert all(len(found) == 1 for found in by_value.values())
    assert vault.commit() == 7
    back = detokenize(env.ws, env.admin, sorted(set(tokens)))
    assert sorted(set(back.values())) == sorted(set(values))
