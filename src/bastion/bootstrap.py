"""``bastion init``: a new workspace with the default roles and its first admin."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.clock import Clock
from bastion.config import Secret, Settings
from bastion.context import SYSTEM, Context
from bastion.identity.principals import NewPrincipal, bootstrap_admin, seed_roles
from bastion.operation import operation
from bastion.workspace import Workspace, create_workspace


@dataclass(frozen=True)
class InitResult:
    """What ``init`` shows once: the admin's credentials and any generated master key."""

    workspace: Workspace
    admin: NewPrincipal
    master_key: Secret | None


def initialize(
    settings: Settings,
    *,
    admin_name: str = "admin",
    clock: Clock | None = None,
    source: str = "cli",
) -> InitResult:
    """Create the workspace, seed roles, create the first admin; all audited as ``system``."""
    ws, generated = create_workspace(settings, clock=clock)
    try:
        ctx = Context(principal=SYSTEM, source=source, clock=ws.clock)
        with operation(
            ws, ctx, "workspace.init", permission=None, resource=f"workspace/{settings.workspace}"
        ) as op:
            op.details["database"] = "sqlite" if settings.database_url is None else "external"
        seed_roles(ws, ctx)
        admin = bootstrap_admin(ws, ctx, admin_name)
    except BaseException:
        ws.close()
        raise
    return InitResult(ws, admin, generated)
