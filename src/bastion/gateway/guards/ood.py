"""Out-of-distribution scoring: squared Mahalanobis distance to the training data.

The threshold is the 99.9th percentile of the training rows' own distances, recorded
with the schema at registration. Rows beyond it are flagged (default) or refused.
"""

from __future__ import annotations

from bastion.errors import GatewayConfigError, RequestRefused
from bastion.gateway.guards.base import Call, GuardSetup, PassThrough


class OutOfDistribution(PassThrough):
    """Score each row; flag or refuse those far from anything the model was trained on."""

    name = "ood"

    def __init__(self, setup: GuardSetup) -> None:
        mode = setup.options.get("mode", "flag")
        if mode not in ("reject", "flag"):
            raise GatewayConfigError(
                f"ood.mode must be reject or flag, not {mode!r}", code="gateway.config_invalid"
            )
        self._reject = mode == "reject"

    async def before(self, call: Call) -> None:
        """Needs the validated matrix; a model without a schema has no reference."""
        served = call.served
        if served is None or served.schema is None or call.matrix is None:
            return
        schema = served.schema
        scores = schema.ood_scores(call.matrix)
        far = [i for i, s in enumerate(scores.tolist()) if s > schema.ood_threshold]
        if not far:
            return
        call.audit["ood_rows"] = far[:20]
        detail = (
            f"{len(far)} row(s) beyond the training distribution "
            f"(max score {float(scores.max()):.1f}, threshold {schema.ood_threshold:.1f})"
        )
        if self._reject:
            raise RequestRefused(
                detail,
                guard=self.name,
                code="ood.out_of_distribution",
                status=422,
                details={"rows": far[:20]},
            )
        call.flag(self.name, "ood.out_of_distribution", detail)
