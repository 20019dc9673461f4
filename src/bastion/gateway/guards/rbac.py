"""Authorization: the principal's role (and its key's scopes) must allow ``model:predict``
on ``model/<name>``; deny by default, like every other operation."""

from __future__ import annotations

from bastion.errors import BastionError, RequestRefused
from bastion.gateway.guards.base import Call, GuardSetup, PassThrough
from bastion.identity.access import check

PERMISSION = "model:predict"


class ModelRbac(PassThrough):
    """Refuse with 403 unless ``model:predict@model/<name>`` is granted."""

    name = "rbac"

    def __init__(self, setup: GuardSetup) -> None:
        self._grants = setup.shared.grants
        self._resource = f"model/{setup.model}"

    async def before(self, call: Call) -> None:
        """Check the permission for the authenticated principal."""
        principal = call.principal
        if principal is None:  # the pipeline always authenticates first; fail closed
            raise RequestRefused(
                "not authenticated", guard=self.name, code="auth.failed", status=401
            )
        # The decision depends only on the role's grants and the key's scopes; it is kept
        # as long as the grants themselves are (policy edits apply within that time).
        key = (principal.role, principal.scopes, principal.kind, principal.auth, self._resource)
        decided = self._grants.cached_decision(key)
        if decided is None:
            grants = await self._grants.of(principal.role)
            try:
                check(principal, grants, PERMISSION, self._resource)
                decided = True
            except BastionError as exc:
                decided = exc
            self._grants.remember_decision(key, decided)
        if isinstance(decided, BastionError):
            raise RequestRefused(
                decided.message, guard=self.name, code=decided.code, status=403, hint=decided.hint
            ) from decided
