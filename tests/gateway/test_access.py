"""Authentication and authorization guards over real HTTPS: accept and reject paths."""

from __future__ import annotations

from datetime import timedelta

from bastion.identity import apikeys, principals
from tests.gateway.conftest import GOOD_ROW, Running


def _code(running: Running, key: str, header: str = "bearer") -> tuple[int, str | None]:
    headers = {"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key}
    with running.client() as client:
        response = client.post(
            "/v1/models/churn/predict", json={"input": GOOD_ROW}, headers=headers
        )
    doc = response.json()
    return response.status_code, doc.get("code")


def test_a_valid_key_works_in_either_header(serve) -> None:
    running = serve()
    key = running.deployment.keys["scorer"]
    assert _code(running, key, "bearer") == (200, None)
    assert _code(running, key, "x-api-key") == (200, None)


def test_missing_malformed_and_unknown_keys_are_refused(serve) -> None:
    running = serve()
    with running.client() as client:
        response = client.post("/v1/models/churn/predict", json={"input": GOOD_ROW})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["guard"] == "auth"
    assert _code(running, "not-a-key") == (401, "auth.failed")
    real = running.deployment.keys["scorer"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    assert _code(running, forged) == (401, "auth.failed")
    with running.client() as client:
        basic = client.post(
            "/v1/models/churn/predict",
            json={"input": GOOD_ROW},
            headers={"Authorization": f"Basic {real}"},
        )
    assert basic.status_code == 401 and basic.json()["code"] == "auth.missing_key"


def test_revoked_key_is_refused(serve) -> None:
    running = serve()
    dep = running.deployment
    key = dep.keys["scorer"]
    assert _code(running, key) == (200, None)
    prefix = key.split("_")[1]
    apikeys.revoke_key(dep.ws, dep.env.admin, prefix)
    assert _code(running, key) == (401, "auth.key_revoked")


def test_expired_key_is_refused(serve) -> None:
    running = serve()
    dep = running.deployment
    principals.add_principal(dep.ws, dep.env.admin, "shortlived", "service", service_account=True)
    key = apikeys.create_key(dep.ws, dep.env.admin, "shortlived", ttl=timedelta(hours=1)).token
    assert _code(running, key) == (200, None)
    dep.env.clock.advance(3601)
    assert _code(running, key) == (401, "auth.key_expired")


def test_disabled_principal_is_refused(serve) -> None:
    running = serve()
    dep = running.deployment
    principals.disable_principal(dep.ws, dep.env.admin, "scorer")
    assert _code(running, dep.keys["scorer"]) == (401, "auth.principal_disabled")


def test_cached_verdicts_expire(serve) -> None:
    """With the cache on, a revoked key stops working once its entry expires."""
    running = serve(auth_cache_s=0.2)
    dep = running.deployment
    key = dep.keys["scorer"]
    assert _code(running, key) == (200, None)
    apikeys.revoke_key(dep.ws, dep.env.admin, key.split("_")[1])
    import time

    time.sleep(0.25)  # the cache's own (monotonic) clock; the only wait in these tests
    assert _code(running, key) == (401, "auth.key_revoked")


def test_a_role_without_model_predict_is_refused(serve) -> None:
    running = serve()
    analyst = running.deployment.service("dashboards", role="analyst")
    assert _code(running, analyst) == (403, "access.denied")


def test_a_key_scoped_to_another_model_is_refused(serve) -> None:
    running = serve()
    dep = running.deployment
    other = dep.service("fraud-bot", scopes=["model:predict@model/fraud-*"])
    assert _code(running, other) == (403, "access.scope_denied")
    mine = dep.service("churn-bot", scopes=["model:predict@model/churn"])
    assert _code(running, mine) == (200, None)


def test_a_role_granted_another_model_only_is_refused(serve) -> None:
    running = serve()
    dep = running.deployment
    key = dep.keys["scorer"]
    assert _code(running, key) == (200, None)
    principals.change_role(
        dep.ws,
        dep.env.admin,
        "service",
        grant=["model:predict@model/fraud-*"],
        revoke=["model:predict"],
    )
    # Policy edits apply to the next request (the grants cache is off in these tests).
    assert _code(running, key) == (403, "access.denied")
