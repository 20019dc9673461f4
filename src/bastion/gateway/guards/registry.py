"""Guard plugins by name: the built-ins in one list, third parties through the
``bastion.guards`` entry-point group (a plugin with a built-in's name replaces it)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points

from bastion.errors import GatewayConfigError
from bastion.gateway.guards.auth import ApiKeyAuth
from bastion.gateway.guards.base import Guard, GuardFactory, GuardSetup
from bastion.gateway.guards.ensemble import Ensemble
from bastion.gateway.guards.harden import OutputHardening
from bastion.gateway.guards.ood import OutOfDistribution
from bastion.gateway.guards.ratelimit import RateLimit
from bastion.gateway.guards.rbac import ModelRbac
from bastion.gateway.guards.validation import InputValidation

ENTRY_POINT_GROUP = "bastion.guards"

_BUILTINS: tuple[tuple[str, GuardFactory], ...] = (
    ("auth", ApiKeyAuth),
    ("rbac", ModelRbac),
    ("rate_limit", RateLimit),
    ("validation", InputValidation),
    ("ood", OutOfDistribution),
    ("harden", OutputHardening),
    ("ensemble", Ensemble),
)


@cache
def factories() -> dict[str, GuardFactory]:
    """Every known guard factory by name."""
    found: dict[str, GuardFactory] = dict(_BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.load()
    return found


def build(names: tuple[str, ...], setup_for: Callable[[str], GuardSetup]) -> list[Guard]:
    """The pipeline for one model, in order; an unknown name is a configuration error."""
    known = factories()
    pipeline: list[Guard] = []
    for name in names:
        factory = known.get(name)
        if factory is None:
            raise GatewayConfigError(
                f"unknown guard {name!r}; known: {', '.join(sorted(known))}",
                code="gateway.config_invalid",
            )
        pipeline.append(factory(setup_for(name)))
    return pipeline
