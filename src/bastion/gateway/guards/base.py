"""The Guard plugin contract: one request's state (:class:`Call`) and the two hooks.

A guard is built once per served model by a factory that gets a :class:`GuardSetup`
(the workspace, the model, its options, the services guards share). ``before`` runs in
the model's configured order before the prediction, ``after`` in reverse order after it.
A guard refuses by raising :class:`~bastion.errors.RequestRefused`; it flags a request
it lets through by appending to ``call.flags``. Nothing a guard does may be skipped by
returning a value: checks raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bastion.context import Principal

if TYPE_CHECKING:
    from starlette.datastructures import Headers

    from bastion.gateway.serving import ServedModel
    from bastion.gateway.shared import SharedServices
    from bastion.workspace import Workspace


@dataclass(frozen=True)
class Flag:
    """A concern a guard raised about a request it let through."""

    guard: str
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        """JSON form, for the response and the audit event."""
        return {"guard": self.guard, "code": self.code, "detail": self.detail}


@dataclass
class Call:
    """One prediction request on its way through the guards."""

    model: str
    request_id: str
    source: str
    headers: Headers
    rows: list[Any]
    principal: Principal | None = None
    served: ServedModel | None = None
    # Float32 rows in the model's feature order, once validation has built them.
    matrix: Any = None
    # One dict per row once the model has answered (label, probabilities, ...).
    outputs: list[dict[str, Any]] | None = None
    flags: list[Flag] = field(default_factory=list)
    # Facts for the audit event (secret-free, bounded).
    audit: dict[str, Any] = field(default_factory=dict)

    def flag(self, guard: str, code: str, detail: str) -> None:
        """Record a concern; the response and the audit event carry it."""
        self.flags.append(Flag(guard, code, detail))


class Guard(Protocol):
    """One step of a model's guard pipeline."""

    name: str

    async def before(self, call: Call) -> None:
        """Check the request before the model runs; raise RequestRefused to refuse."""

    async def after(self, call: Call) -> None:
        """Check or transform ``call.outputs`` after the model ran."""


@dataclass(frozen=True)
class GuardSetup:
    """What a guard factory gets."""

    ws: Workspace
    model: str
    options: dict[str, Any]
    shared: SharedServices


class GuardFactory(Protocol):
    """Builds a guard for one model."""

    def __call__(self, setup: GuardSetup) -> Guard: ...


class PassThrough:
    """Base for guards that act at only one of the two hooks."""

    name = "pass"

    async def before(self, call: Call) -> None:
        """Nothing to check before the prediction."""

    async def after(self, call: Call) -> None:
        """Nothing to check after the prediction."""
