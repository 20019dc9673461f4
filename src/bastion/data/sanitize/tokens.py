"""Reversible tokenization: tokens stand for values sealed in the workspace database.

``tokenize`` gives the same token for the same (type, value) in a workspace, found
through an HMAC under the pseudonymization key, so joins on tokenized columns still
work. The value is sealed with the keyring's secrets key, bound to its token. Reversing
a token (:func:`detokenize`) needs the ``data:detokenize`` permission and is audited with
the number of tokens asked for, never the values.

New tokens are held in memory until :meth:`TokenVault.commit`: a sanitizer commits them
before it publishes its output, so no published token is ever unknown to the vault.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
from collections.abc import Iterable

from sqlalchemy import select

from bastion.context import Context
from bastion.crypto.aead import DecryptionFailed
from bastion.db.engine import transaction
from bastion.db.models import DataTokenRow
from bastion.errors import EncryptedObjectError, InvalidInput, NotFound
from bastion.operation import operation
from bastion.workspace import Workspace

TOKEN = re.compile(r"<tok:([A-Z][A-Z0-9_]*):([A-Z2-7]{16})>")
_PURPOSE = "data-token:"


def _new_token(entity_type: str) -> str:
    body = base64.b32encode(secrets.token_bytes(10)).decode()
    return f"<tok:{entity_type}:{body}>"


class TokenVault:
    """Makes tokens for one sanitization run; :meth:`commit` stores the new ones."""

    def __init__(self, ws: Workspace, ctx: Context) -> None:
        self._ws = ws
        self._ctx = ctx
        self._known: dict[str, str] = {}  # lookup digest -> token
        self._pending: dict[str, DataTokenRow] = {}
        # Polars may call the sanitizer from several threads at once: without the lock two
        # of them could mint different tokens for one value, and only one would be stored.
        self._lock = threading.Lock()

    def _lookup(self, entity_type: str, value: str) -> str:
        return self._ws.keyring.pseudonymize(f"token\x00{entity_type}\x00{value}".encode()).hex()

    def tokenize(self, entity_type: str, value: str) -> str:
        """The token for ``value``: an existing one, or a new one held until commit."""
        lookup = self._lookup(entity_type, value)
        with self._lock:
            return self._tokenize(entity_type, value, lookup)

    def _tokenize(self, entity_type: str, value: str, lookup: str) -> str:
        token = self._known.get(lookup)
        if token is not None:
            return token
        with transaction(self._ws.sessions) as session:
            row = session.scalar(select(DataTokenRow).where(DataTokenRow.lookup == lookup))
            token = row.token if row is not None else None
        if token is None:
            token = _new_token(entity_type)
            sealed = self._ws.keyring.seal_secret(value.encode(), _PURPOSE + token)
            self._pending[lookup] = DataTokenRow(
                token=token,
                lookup=lookup,
                entity_type=entity_type,
                sealed=sealed,
                created_at=self._ctx.clock.now(),
                created_by=self._ctx.principal.name,
            )
        self._known[lookup] = token
        return token

    @property
    def pending(self) -> int:
        """Tokens made and not yet stored."""
        return len(self._pending)

    def commit(self) -> int:
        """Store the new tokens in one transaction; returns how many."""
        with self._lock:
            rows = list(self._pending.values())
        if not rows:
            return 0
        with transaction(self._ws.sessions) as session:
            session.add_all(rows)
        with self._lock:
            for row in rows:
                self._pending.pop(row.lookup, None)
        return len(rows)


def find_tokens(text: str) -> list[str]:
    """Every token in ``text``, in order, without repeats."""
    return list(dict.fromkeys(m.group(0) for m in TOKEN.finditer(text)))


def detokenize(ws: Workspace, ctx: Context, tokens: Iterable[str]) -> dict[str, str]:
    """The values behind ``tokens``; needs ``data:detokenize`` and is audited."""
    wanted = list(dict.fromkeys(tokens))
    with operation(ws, ctx, "data.detokenize", permission="data:detokenize") as op:
        op.details["tokens"] = len(wanted)
        for token in wanted:
            if TOKEN.fullmatch(token) is None:
                raise InvalidInput(
                    f"not a token: {token[:40]!r}",
                    code="data.token_invalid",
                    hint="Tokens look like <tok:PERSON:K3QX7V2M4PLA6ZTB>.",
                )
        with transaction(ws.sessions) as session:
            rows = {
                row.token: row
                for row in session.scalars(
                    select(DataTokenRow).where(DataTokenRow.token.in_(wanted))
                )
            }
        missing = [t for t in wanted if t not in rows]
        if missing:
            raise NotFound(
                f"{len(missing)} token(s) unknown to this workspace, e.g. {missing[0]}",
                code="data.token_unknown",
            )
        values: dict[str, str] = {}
        for token in wanted:
            try:
                plain = ws.keyring.open_secret(rows[token].sealed, _PURPOSE + token)
            except DecryptionFailed as exc:
                raise EncryptedObjectError(
                    f"token {token} does not open: its record was altered",
                    code="vault.tampered",
                ) from exc
            values[token] = plain.decode()
        op.details["types"] = sorted({rows[t].entity_type for t in wanted})
        return values
