"""Ensemble mode and the human review queue, over real HTTPS: members vote, a
disagreement is answered flagged and filed, and a person with an MFA session reviews it."""

from __future__ import annotations

import random

from bastion.demo_supply_chain import train_onnx
from bastion.models import registry
from tests.gateway.conftest import GOOD_ROW, Deployment, Running

OLD = {"age": 85, "tenure_months": 12, "monthly_charges": 70.5}


def _confident_member(dep: Deployment) -> None:
    """A second churn model whose labels follow age (> 50 churns): sure of itself."""
    rng = random.Random(3)
    csv_path = dep.root / "by-age.csv"
    with csv_path.open("w", encoding="utf-8") as handle:
        handle.write("age,tenure_months,monthly_charges,churned\n")
        for _ in range(3000):
            age = rng.randint(18, 90)
            handle.write(
                f"{age},{rng.randint(0, 120)},{rng.uniform(10, 150):.2f},{int(age > 50)}\n"
            )
    model = dep.root / "by-age.onnx"
    train_onnx(csv_path, model, c=100.0)
    registry.register(
        dep.ws, dep.engineer, model, "churn-age", training_data=csv_path, target="churned"
    )
    registry.promote(dep.ws, dep.engineer, "churn-age", 1, reason="ensemble member")


def _ensemble(serve, deployment: Deployment, threshold: float = 0.5) -> Running:
    _confident_member(deployment)
    guards = ["auth", "rbac", "rate_limit", "validation", "harden", "ensemble"]
    return serve(
        {
            "models": {
                "churn": {
                    "guards": guards,
                    "ensemble": {"members": ["churn-age"], "threshold": threshold},
                    "harden": {"decimals": 4},
                }
            }
        }
    )


def _session(deployment: Deployment, name: str, role: str) -> str:
    deployment.env.user(name, role)
    return deployment.env.secrets_seen[-1]  # the session token login just issued


def test_agreement_is_answered_without_review(serve, deployment) -> None:
    running = _ensemble(serve, deployment, threshold=0.9)
    response = running.predict({"input": GOOD_ROW})
    assert response.status_code == 200
    assert "flags" not in response.json()


def test_disagreement_is_flagged_filed_and_reviewed(serve, deployment) -> None:
    running = _ensemble(serve, deployment)
    response = running.predict({"inputs": [GOOD_ROW, OLD]})
    assert response.status_code == 200, response.text
    doc = response.json()
    (flag,) = doc["flags"]
    assert flag["guard"] == "ensemble" and flag["code"] == "ensemble.disagreement"
    # The combined answer: mean probabilities, still rounded by the harden guard outside.
    assert all(round(p, 4) == p for o in doc["outputs"] for p in o["probabilities"])

    reviewer = _session(deployment, "rita", "engineer")
    with running.client(reviewer) as client:
        listing = client.get("/v1/review")
        assert listing.status_code == 200, listing.text
        (item,) = listing.json()["items"]
        assert item["request_id"] == doc["request_id"] and item["status"] == "pending"
        assert item["rows"] == [GOOD_ROW, OLD]
        assert set(item["answers"]) == {"churn@1", "churn-age@1"}
        assert item["disagreement"] > 0.5

        decided = client.post(
            f"/v1/review/{item['id']}", json={"decision": "reject", "reason": "age model right"}
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "rejected" and decided.json()["decided_by"] == "rita"
        again = client.post(f"/v1/review/{item['id']}", json={"decision": "approve", "reason": "x"})
        assert again.status_code == 409 and again.json()["code"] == "review.decided"
        assert client.get("/v1/review").json()["items"] == []
        assert len(client.get("/v1/review", params={"status": "rejected"}).json()["items"]) == 1
        missing = client.post("/v1/review/nope", json={"decision": "approve", "reason": "x"})
        assert missing.status_code == 404
        no_reason = client.post(
            f"/v1/review/{item['id']}", json={"decision": "approve", "reason": " "}
        )
        assert no_reason.status_code == 400 and no_reason.json()["code"] == "review.reason_missing"


def test_the_queue_is_for_people_with_the_permission(serve, deployment) -> None:
    running = _ensemble(serve, deployment)
    running.predict({"input": OLD})
    # An API key, even a valid one, is not a person's MFA session.
    with running.client(deployment.keys["scorer"]) as client:
        assert client.get("/v1/review").status_code == 401
    with running.client() as client:
        assert client.get("/v1/review").json()["code"] == "auth.missing_session"
    analyst = _session(deployment, "ann", "analyst")
    with running.client(analyst) as client:
        denied = client.get("/v1/review")
    assert denied.status_code == 403 and denied.json()["code"] == "access.denied"


def test_a_missing_member_fails_closed(serve, deployment) -> None:
    running = serve(
        {
            "models": {
                "churn": {
                    "guards": ["auth", "rbac", "ensemble"],
                    "ensemble": {"members": ["not-served"]},
                }
            }
        }
    )
    response = running.predict({"input": GOOD_ROW})
    assert response.status_code == 503
    assert response.json()["code"] == "ensemble.member_unavailable"


def test_the_review_store_seals_inputs(serve, deployment) -> None:
    running = _ensemble(serve, deployment)
    running.predict({"input": {**OLD, "monthly_charges": 123.4567}})
    from sqlalchemy import select

    from bastion.db.models import ReviewItemRow

    with deployment.ws.sessions() as session:
        (row,) = session.scalars(select(ReviewItemRow)).all()
    assert b"123.4567" not in row.sealed and b"monthly_charges" not in row.sealed
