"""Small helpers shared by the identity tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bastion.audit.events import AuditEvent
from bastion.audit.store import AuditQuery
from bastion.context import Context
from bastion.identity import apikeys, credentials, principals
from tests.conftest import Env, totp_seed


def events(env: Env, **filters: Any) -> list[AuditEvent]:
    """Audit events matching the filters (the writer commits before services return)."""
    return env.ws.audit_store.query(AuditQuery(**filters))


def key_context(env: Env, token: str) -> Context:
    """A context authenticated with an API key."""
    anon = env.anon()
    return anon.as_(apikeys.authenticate_api_key(env.ws, anon, token))


def service_account(
    env: Env,
    name: str,
    role: str = "service",
    *,
    scopes: list[str] | None = None,
    ttl: timedelta | None = apikeys.DEFAULT_TTL,
) -> apikeys.NewApiKey:
    """Create a service account with one API key and return the key."""
    principals.add_principal(env.ws, env.admin, name, role, service_account=True)
    key = apikeys.create_key(env.ws, env.admin, name, scopes=scopes, ttl=ttl)
    env.secrets_seen.append(key.token)
    return key


def code_at(totp_b32: str, unix: float) -> str:
    """The TOTP code of a base32 seed at a given moment."""
    return credentials.totp_code(totp_seed(totp_b32), unix)


def window_codes(totp_b32: str, unix: float) -> set[str]:
    """Every code that the verifier accepts at ``unix`` (current step and one either side)."""
    step = credentials.TOTP_STEP
    return {
        code_at(totp_b32, unix + d * step)
        for d in range(-credentials.TOTP_WINDOW, credentials.TOTP_WINDOW + 1)
    }


def code_outside(accepted: set[str]) -> str:
    """A well-formed six-digit code that is none of ``accepted`` (so it must be refused)."""
    for n in range(1_000_000):
        candidate = f"{n:06d}"
        if candidate not in accepted:
            return candidate
    raise AssertionError("unreachable")
