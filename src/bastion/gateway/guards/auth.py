"""Authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, else 401."""

from __future__ import annotations

from bastion.errors import AuthenticationFailed, RequestRefused
from bastion.gateway.guards.base import Call, GuardSetup, PassThrough
from bastion.gateway.shared import Credentials

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="bastion"'}


def presented_key(call: Call) -> str | None:
    """The API key a request carries, from either header; None if it carries none."""
    header = call.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    key = call.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


async def authenticate(credentials: Credentials, call: Call, guard: str = "auth") -> None:
    """Set ``call.principal`` from the request's key or raise a 401 refusal."""
    key = presented_key(call)
    if key is None:
        raise RequestRefused(
            "an API key is required",
            guard=guard,
            code="auth.missing_key",
            status=401,
            hint="Send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
            headers=_CHALLENGE,
        )
    try:
        call.principal = await credentials.principal(key)
    except AuthenticationFailed as exc:
        owner = exc.details.get("owner")
        if owner:
            # The caller proved possession of a real (revoked or expired) key.
            call.audit["key_owner"] = str(owner)[:128]
        raise RequestRefused(
            "invalid credentials", guard=guard, code=exc.code, status=401, headers=_CHALLENGE
        ) from exc


class ApiKeyAuth(PassThrough):
    """Every request names a valid, unexpired, unrevoked key of an enabled principal."""

    name = "auth"

    def __init__(self, setup: GuardSetup) -> None:
        self._credentials = setup.shared.credentials

    async def before(self, call: Call) -> None:
        """Authenticate the request."""
        await authenticate(self._credentials, call, self.name)
