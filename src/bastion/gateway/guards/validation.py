"""Input validation against the schema recorded at registration from the training data.

Shape and type errors are always refused (the model cannot run on them). Values outside
the training ranges, unseen categories, over-long or foreign-charset text are refused in
``mode = "reject"`` (the default) or let through and flagged in ``mode = "flag"``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bastion.errors import GatewayConfigError, RequestRefused
from bastion.gateway.guards.base import Call, GuardSetup, PassThrough
from bastion.gateway.serving import ServedModel

# Violations that leave no usable row: refused in every mode.
_FATAL = frozenset(
    {
        "input.missing_feature",
        "input.unknown_feature",
        "input.wrong_shape",
        "input.wrong_type",
        "input.not_finite",
    }
)
MAX_REPORTED = 20


def _refuse(guard: str, violations: list[dict[str, Any]]) -> RequestRefused:
    first = violations[0]
    return RequestRefused(
        f"{len(violations)} invalid value(s); first: row {first['row']}: {first['message']}",
        guard=guard,
        code=str(first["code"]),
        status=422,
        details={"violations": violations[:MAX_REPORTED]},
    )


def plain_matrix(served: ServedModel, rows: list[Any], guard: str = "input") -> np.ndarray:
    """Rows as float32 for a model without a schema: lists of finite numbers, right width."""
    width = served.n_features
    for i, row in enumerate(rows):
        ok = isinstance(row, list) and (width is None or len(row) == width)
        if ok:
            ok = all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in row
            )
        if not ok:
            raise _refuse(
                guard,
                [
                    {
                        "row": i,
                        "feature": "",
                        "code": "input.wrong_shape",
                        "message": f"expected a list of {width or 'n'} finite numbers",
                    }
                ],
            )
    return np.asarray(rows, dtype=np.float32)


class InputValidation(PassThrough):
    """Check every row against the model's input schema and build the model's matrix."""

    name = "validation"

    def __init__(self, setup: GuardSetup) -> None:
        mode = setup.options.get("mode", "reject")
        if mode not in ("reject", "flag"):
            raise GatewayConfigError(
                f"validation.mode must be reject or flag, not {mode!r}",
                code="gateway.config_invalid",
            )
        self._reject = mode == "reject"
        self._tolerance = float(setup.options.get("tolerance", 0.0))

    async def before(self, call: Call) -> None:
        """Refuse or flag invalid rows; leave the float32 matrix in ``call.matrix``."""
        served = call.served
        assert served is not None
        if served.schema is None:
            call.matrix = plain_matrix(served, call.rows, self.name)
            return
        checked = served.schema.validate(call.rows, tolerance=self._tolerance)
        if checked.violations:
            found = [
                {"row": v.row, "feature": v.feature, "code": v.code, "message": v.message}
                for v in checked.violations
            ]
            if self._reject or any(v["code"] in _FATAL for v in found) or checked.matrix is None:
                raise _refuse(self.name, found)
            for v in found[:MAX_REPORTED]:
                call.flag(self.name, str(v["code"]), f"row {v['row']}: {v['message']}")
        call.matrix = checked.matrix
