"""Ensemble mode: other registered models vote on every answer; when they disagree
beyond ``threshold`` the combined answer is returned flagged and the request is filed in
the human review queue.

Members are production models the gateway serves, with the same input features. The
answer is the majority label (ties go to the lowest class) and the mean of the members'
probabilities; disagreement is the largest total-variation distance between any two
members' probability vectors (0: identical, 1: certain of different classes), or, for
models without probabilities, the share of members outside the majority.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio

from bastion.errors import BastionError, GatewayConfigError, RequestRefused
from bastion.gateway import review
from bastion.gateway.guards.base import Call, GuardSetup, PassThrough


def _probabilities(row: dict[str, Any]) -> list[float] | None:
    value = row.get("probabilities")
    if isinstance(value, list) and value and all(isinstance(p, float) for p in value):
        return value
    return None


def disagreement(answers: list[dict[str, Any]]) -> float:
    """How much the members' answers for one row differ, from 0 to 1."""
    probs = [_probabilities(a) for a in answers]
    if all(p is not None for p in probs):
        vectors = [p for p in probs if p is not None]
        return max(
            (
                0.5 * sum(abs(x - y) for x, y in zip(a, b, strict=True))
                for i, a in enumerate(vectors)
                for b in vectors[i + 1 :]
            ),
            default=0.0,
        )
    labels = Counter(a.get("label") for a in answers)
    return 1.0 - labels.most_common(1)[0][1] / len(answers)


def _order(label: Any) -> tuple[int, float, str]:
    """Numbers first, by value; then anything else by its text."""
    if isinstance(label, int | float) and not isinstance(label, bool):
        return (0, float(label), "")
    return (1, 0.0, str(label))


def combine(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The ensemble's answer for one row."""
    counts = Counter(a.get("label") for a in answers)
    top = max(counts.values())
    label = min((label for label, n in counts.items() if n == top), key=_order)
    combined: dict[str, Any] = {"label": label}
    probs = [_probabilities(a) for a in answers]
    if all(p is not None for p in probs):
        vectors = [p for p in probs if p is not None]
        combined["probabilities"] = [sum(col) / len(vectors) for col in zip(*vectors, strict=True)]
    return combined


class Ensemble(PassThrough):
    """Combine the served model with its ``members``; file disagreements for review."""

    name = "ensemble"

    def __init__(self, setup: GuardSetup) -> None:
        members = setup.options.get("members", [])
        threshold = setup.options.get("threshold", 0.2)
        if (
            not isinstance(members, list)
            or not members
            or not all(isinstance(m, str) for m in members)
            or setup.model in members
        ):
            raise GatewayConfigError(
                f"ensemble for {setup.model}: members must list other served models",
                code="gateway.config_invalid",
            )
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not (0 <= threshold <= 1)
        ):
            raise GatewayConfigError(
                "ensemble.threshold must be between 0 and 1", code="gateway.config_invalid"
            )
        self._members = list(members)
        self._threshold = float(threshold)
        self._ws = setup.ws
        self._lookup = setup.shared.lookup

    async def after(self, call: Call) -> None:
        """Vote, combine, and file the request if the members disagree."""
        served = call.served
        if call.outputs is None or served is None:
            return
        answers: dict[str, list[dict[str, Any]]] = {f"{served.name}@{served.version}": call.outputs}
        for name in self._members:
            try:
                member = self._lookup(name)
            except BastionError as exc:
                # Fail closed: an ensemble missing a member is not the ensemble configured.
                raise RequestRefused(
                    f"ensemble member {name} is not being served",
                    guard=self.name,
                    code="ensemble.member_unavailable",
                    status=503,
                ) from exc
            answers[f"{member.name}@{member.version}"] = await member.predict_async(call.matrix)
        per_row = list(zip(*answers.values(), strict=True))
        scores = [disagreement(list(row)) for row in per_row]
        call.outputs = [combine(list(row)) for row in per_row]
        worst = max(scores, default=0.0)
        call.audit["ensemble_disagreement"] = round(worst, 4)
        if worst <= self._threshold:
            return
        principal = call.principal.name if call.principal else "anonymous"
        item = review.NewReview(
            model=served.name,
            version=served.version,
            request_id=call.request_id,
            principal=principal,
            source=call.source,
            disagreement=worst,
            rows=call.rows,
            answers=answers,
        )
        item_id = await anyio.to_thread.run_sync(
            review.enqueue, self._ws, item, self._ws.clock.now()
        )
        call.audit["review_id"] = item_id
        call.flag(
            self.name,
            "ensemble.disagreement",
            f"members disagree by {worst:.2f} (threshold {self._threshold:.2f}); "
            f"filed for human review as {item_id}",
        )
