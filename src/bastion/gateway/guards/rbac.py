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
        grants = await self._grants.of(principal.role)
        try:
            check(principal, grants, PERMISSION, self._resource)
        except BastionError as exc:
            raise RequestRefused(
                exc.message, guard=self.name, code=exc.code, status=403, hint=exc.hint
            ) from exc
