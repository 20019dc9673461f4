"""Served models: production versions loaded through the one safe loader, hot-swapped.

Only ONNX models are served (the safe loader never deserializes pickles, and a bare
safetensors file holds weights, not a program). Each served model keeps its ONNX Runtime
session, its verified input schema, and its guard pipeline. The table re-reads the
registry every ``reload_s`` seconds, so a promotion or a rollback done anywhere (the
state lives in the database) reaches every replica without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from bastion.context import SYSTEM, Context
from bastion.db.engine import transaction
from bastion.db.models import ModelVersionRow
from bastion.errors import BastionError, ModelRejected, NotFound
from bastion.models import loading

if TYPE_CHECKING:
    from bastion.gateway.guards.base import Guard
    from bastion.models.schema import InputSchema
    from bastion.workspace import Workspace

log = logging.getLogger("bastion.gateway")

# Batches up to this many rows run on the event loop: ONNX Runtime answers a few rows in
# tens of microseconds, less than a hop to a worker thread costs. Larger ones go to a
# thread, so a big batch never stalls every other request.
INLINE_ROWS = 16


@dataclass
class ServedModel:
    """One model version as the gateway runs it."""

    name: str
    version: int
    session: Any
    input_name: str
    n_features: int | None
    output_names: tuple[str, ...]
    schema: InputSchema | None
    guards: Sequence[Guard] = field(default_factory=tuple)

    def predict(self, matrix: np.ndarray) -> list[dict[str, Any]]:
        """Run the model on float32 rows; one dict of outputs per row."""
        results = self.session.run(None, {self.input_name: matrix})
        columns = {
            name: value.tolist() for name, value in zip(self.output_names, results, strict=True)
        }
        return [{name: column[i] for name, column in columns.items()} for i in range(len(matrix))]

    async def predict_async(self, matrix: np.ndarray) -> list[dict[str, Any]]:
        """:meth:`predict`, off the event loop when the batch is large."""
        if len(matrix) <= INLINE_ROWS:
            return self.predict(matrix)
        return await asyncio.to_thread(self.predict, matrix)

    def describe(self) -> dict[str, Any]:
        """What ``GET /v1/models`` shows."""
        doc: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "outputs": list(self.output_names),
            "guards": [g.name for g in self.guards],
        }
        if self.schema is not None:
            doc["input_schema"] = self.schema.json_schema()
        elif self.n_features is not None:
            doc["input_schema"] = {
                "type": "array",
                "items": {"type": "number"},
                "minItems": self.n_features,
                "maxItems": self.n_features,
            }
        return doc


def load_served(ws: Workspace, name: str, version: int | None = None) -> ServedModel:
    """Load ``name`` (its production version, or ``version``) as a served model."""
    from bastion.models.registry import verified_input_schema

    ctx = Context(principal=SYSTEM, source="gateway")
    loaded = loading.load_model(ws, ctx, name, version=version)
    if loaded.format != "onnx":
        raise ModelRejected(
            f"{name}@{loaded.version.version} is {loaded.format}: the gateway serves ONNX models",
            code="gateway.unservable_format",
            hint="Export the model to ONNX (skl2onnx, torch.onnx) and register that.",
        )
    session = loaded.runtime
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelRejected(
            f"{name} takes {len(inputs)} inputs; the gateway serves single-input models",
            code="gateway.unservable_format",
        )
    shape = inputs[0].shape
    width = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
    schema = verified_input_schema(ws, name, loaded.version.version)
    if schema is not None and not schema.numeric:
        raise ModelRejected(
            f"{name}: its inputs include categories or text; the gateway feeds models a "
            "float matrix and does not encode them",
            code="gateway.schema_unsupported",
            hint="Export the model with its encoders inside the ONNX graph, taking numbers.",
        )
    if schema is not None and width is not None and len(schema.features) != width:
        raise ModelRejected(
            f"{name}: the input schema has {len(schema.features)} features, the model {width}",
            code="gateway.schema_mismatch",
        )
    return ServedModel(
        name=name,
        version=loaded.version.version,
        session=session,
        input_name=inputs[0].name,
        n_features=width,
        output_names=tuple(o.name for o in session.get_outputs()),
        schema=schema,
    )


def production_versions(ws: Workspace, names: Sequence[str] | None = None) -> dict[str, int]:
    """Model name -> its production version, for every model that has one."""
    with transaction(ws.sessions) as session:
        query = select(ModelVersionRow.name, ModelVersionRow.version).where(
            ModelVersionRow.stage == "production"
        )
        if names:
            query = query.where(ModelVersionRow.name.in_(list(names)))
        return {str(n): int(v) for n, v in session.execute(query).all()}


class ModelTable:
    """The models being served, by name; swapped whole, so readers never lock."""

    def __init__(
        self,
        ws: Workspace,
        attach: Callable[[ServedModel], ServedModel],
        names: Sequence[str] | None = None,
    ) -> None:
        self._ws = ws
        self._attach = attach
        self._names = list(names) if names else None
        self.models: dict[str, ServedModel] = {}
        self.errors: dict[str, str] = {}

    def get(self, name: str) -> ServedModel:
        """The served model, or NotFound (the same answer whether it exists or not)."""
        served = self.models.get(name)
        if served is None:
            raise NotFound(f"no served model {name!r}", code="gateway.model_not_found")
        return served

    def refresh(self) -> bool:
        """Load what changed in the registry; True if the table changed. Blocking."""
        wanted = production_versions(self._ws, self._names)
        current = {n: m.version for n, m in self.models.items()}
        if wanted == current:
            return False
        fresh: dict[str, ServedModel] = {}
        errors: dict[str, str] = {}
        for name, version in sorted(wanted.items()):
            if current.get(name) == version:
                fresh[name] = self.models[name]
                continue
            try:
                fresh[name] = self._attach(load_served(self._ws, name, version))
                log.info("serving %s@%d", name, version)
            except BastionError as exc:
                # Fail closed for this model only: it is not served, the rest are.
                errors[name] = f"{exc.code}: {exc.message}"
                log.error("not serving %s@%d: %s", name, version, errors[name])
        self.models = fresh
        self.errors = errors
        return True

    async def watch(self, every: float) -> None:
        """Re-read the registry every ``every`` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(self.refresh)
            except BastionError as exc:
                log.error("model refresh failed: %s", exc)
