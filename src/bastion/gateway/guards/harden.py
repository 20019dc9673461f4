"""Output hardening: give an extraction attacker less to learn from each answer.

Per model: round probabilities to ``decimals``, keep the ``top_k`` classes, add
Gaussian ``noise`` (then clip and renormalize, so the answer is still a distribution and
the label is unchanged), or answer the ``label_only``. Rounding and label-only are the
defences Tramèr et al. (2016) measured against equation-solving extraction.
"""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np

from bastion.errors import GatewayConfigError
from bastion.gateway.guards.base import Call, GuardSetup, PassThrough


def _prob_key(row: dict[str, Any]) -> str | None:
    for key, value in row.items():
        if isinstance(value, list) and value and isinstance(value[0], float):
            return key
    return None


class OutputHardening(PassThrough):
    """Transform ``call.outputs`` after the model answered."""

    name = "harden"

    def __init__(self, setup: GuardSetup) -> None:
        opts = setup.options
        try:
            self._decimals = int(opts.get("decimals", 3))
            self._top_k = int(opts.get("top_k", 0))
            self._label_only = bool(opts.get("label_only", False))
            self._noise = float(opts.get("noise", 0.0))
        except (TypeError, ValueError) as exc:
            raise GatewayConfigError(
                f"harden options are malformed: {exc}", code="gateway.config_invalid"
            ) from exc
        if not 0 <= self._decimals <= 8 or self._top_k < 0 or not 0 <= self._noise < 1:
            raise GatewayConfigError(
                "harden: decimals 0..8, top_k >= 0, 0 <= noise < 1",
                code="gateway.config_invalid",
            )
        self._rng = np.random.default_rng(secrets.randbits(64))

    def _harden(self, probs: list[float]) -> list[float] | list[dict[str, Any]]:
        values = probs
        if self._noise:
            noisy = np.asarray(probs) + self._rng.normal(0.0, self._noise, len(probs))
            best = int(np.argmax(probs))
            noisy = np.clip(noisy, 1e-6, None)
            # Keep the label: the noise blurs confidence, never the decision.
            if int(np.argmax(noisy)) != best:
                noisy[best] = noisy.max() + 1e-6
            values = (noisy / noisy.sum()).tolist()
        rounded = [round(p, self._decimals) for p in values]
        if self._top_k:
            order = sorted(range(len(rounded)), key=lambda i: -rounded[i])[: self._top_k]
            return [{"class": i, "p": rounded[i]} for i in order]
        return rounded

    async def after(self, call: Call) -> None:
        """Harden every row's probabilities (or drop them)."""
        if not call.outputs:
            return
        key = _prob_key(call.outputs[0])
        if key is None:
            return
        for row in call.outputs:
            if self._label_only:
                row.pop(key, None)
            else:
                row[key] = self._harden(row[key])
