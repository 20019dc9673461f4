"""Who is acting, from where, under which request id, by which clock."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from bastion.clock import Clock, SystemClock


class PrincipalKind(StrEnum):
    """Humans log in with password + TOTP; service accounts use API keys."""

    USER = "user"
    SERVICE = "service"
    SYSTEM = "system"


class AuthMethod(StrEnum):
    """How the acting principal proved who it is."""

    MFA_SESSION = "mfa_session"
    API_KEY = "api_key"
    SYSTEM = "system"
    NONE = "none"


@dataclass(frozen=True)
class Principal:
    """An authenticated actor, as the operation path sees it."""

    id: int | None
    name: str
    kind: PrincipalKind
    role: str
    auth: AuthMethod
    # Scopes of the API key used, if any: the key can narrow the role, never widen it.
    scopes: tuple[str, ...] = ()
    credential_id: str | None = None


ANONYMOUS = Principal(
    id=None, name="anonymous", kind=PrincipalKind.USER, role="", auth=AuthMethod.NONE
)
SYSTEM = Principal(
    id=None, name="system", kind=PrincipalKind.SYSTEM, role="", auth=AuthMethod.SYSTEM
)


def new_request_id() -> str:
    """A random request id (128 bits, hex)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Context:
    """Per-operation facts every service receives."""

    principal: Principal
    source: str = "cli"
    request_id: str = field(default_factory=new_request_id)
    clock: Clock = field(default_factory=SystemClock)

    def as_(self, principal: Principal) -> Context:
        """The same request, now acting as ``principal`` (after authentication)."""
        return Context(
            principal=principal, source=self.source, request_id=self.request_id, clock=self.clock
        )
