"""What every command needs: settings, the open workspace, and the acting principal.

Credential precedence: ``--api-key`` / ``BASTION_API_KEY``, then ``BASTION_SESSION``,
then the session stored for this workspace by ``bastion login``. With none, commands act
as ``anonymous`` and the operation path denies them (and audits the denial).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bastion.config import Secret, Settings, load_settings
from bastion.context import ANONYMOUS, Context

if TYPE_CHECKING:
    from bastion.workspace import Workspace


@dataclass
class CliState:
    """Global options, filled by the root callback."""

    workspace: Path | None = None
    api_key: str | None = None
    settings_cache: list[Settings] = field(default_factory=list)

    def settings(self) -> Settings:
        """Settings resolved once per invocation."""
        if not self.settings_cache:
            settings = load_settings(workspace=self.workspace)
            if self.api_key:
                settings = settings.with_overrides(api_key=Secret(self.api_key))
            self.settings_cache.append(settings)
        return self.settings_cache[0]


STATE = CliState()


def session_file(settings: Settings) -> Path:
    """Where ``bastion login`` keeps this workspace's session token (mode 0600)."""
    digest = hashlib.sha256(str(settings.workspace).encode()).hexdigest()[:24]
    return settings.state_dir / "sessions" / f"{digest}.token"


def store_session(settings: Settings, token: str) -> Path:
    """Save a session token privately."""
    # Imported here, not at module level: bastion.crypto loads cryptography, which would
    # slow down the start of every command (see tests/cli/test_startup.py).
    from bastion.crypto.files import write_private_atomic

    path = session_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private_atomic(path, token.encode())
    return path


def stored_session(settings: Settings) -> str | None:
    """The stored session token, if any."""
    path = session_file(settings)
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def forget_session(settings: Settings) -> None:
    """Delete the stored session token."""
    session_file(settings).unlink(missing_ok=True)


def source_label() -> str:
    """Where a CLI action comes from, for the audit log."""
    return f"cli:{os.getuid()}"


@contextmanager
def opened() -> Iterator[Workspace]:
    """Open the workspace for one command and close it (flush + checkpoint) after."""
    from bastion.workspace import open_workspace  # SQLAlchemy: only when a command needs it

    ws = open_workspace(STATE.settings())
    try:
        yield ws
    finally:
        ws.close()


def current_token(settings: Settings) -> tuple[str, str] | None:
    """The credential this invocation acts with: ("api_key"|"session", token)."""
    if settings.api_key is not None:
        return "api_key", settings.api_key.reveal()
    if settings.session_token is not None:
        return "session", settings.session_token.reveal()
    stored = stored_session(settings)
    return ("session", stored) if stored else None


def acting_context(ws: Workspace) -> Context:
    """Authenticate the invocation's credential; anonymous when there is none."""
    from bastion.identity.apikeys import authenticate_api_key
    from bastion.identity.sessions import authenticate_session

    ctx = Context(principal=ANONYMOUS, source=source_label(), clock=ws.clock)
    credential = current_token(ws.settings)
    if credential is None:
        return ctx
    kind, token = credential
    if kind == "api_key":
        return ctx.as_(authenticate_api_key(ws, ctx, token))
    return ctx.as_(authenticate_session(ws, ctx, token))


@contextmanager
def acting() -> Iterator[tuple[Workspace, Context]]:
    """Open the workspace and authenticate: the start of nearly every command."""
    with opened() as ws:
        yield ws, acting_context(ws)
