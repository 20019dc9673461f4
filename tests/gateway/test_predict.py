"""The predict path over real HTTPS: answers, problem+json refusals, headers, audit."""

from __future__ import annotations

import json

import httpx

from bastion.audit.store import AuditQuery
from tests.gateway.conftest import GOOD_ROW, Running


def _events(running: Running, action: str = "gateway.predict") -> list[dict[str, object]]:
    running.deployment.ws.audit.flush()
    found = running.deployment.ws.audit_store.query(AuditQuery(action=action, limit=1000))
    return [
        {"actor": e.actor, "outcome": e.outcome, "resource": e.resource, **json.loads(e.details)}
        for e in found
    ]


def test_single_row_and_batch_are_answered(serve) -> None:
    running = serve()
    one = running.predict({"input": GOOD_ROW})
    assert one.status_code == 200, one.text
    doc = one.json()
    assert doc["model"] == "churn" and doc["version"] == 1
    assert len(doc["outputs"]) == 1
    assert doc["outputs"][0]["label"] in (0, 1)
    probs = doc["outputs"][0]["probabilities"]
    assert abs(sum(probs) - 1) < 1e-2
    # Rounded to the default 3 decimals by the output-hardening guard.
    assert all(round(p, 3) == p for p in probs)
    assert one.headers["x-request-id"] == doc["request_id"]

    rows = [GOOD_ROW, [25, 3, 99.0], {"age": 80, "tenure_months": 100, "monthly_charges": 20}]
    batch = running.predict({"inputs": rows})
    assert batch.status_code == 200, batch.text
    assert len(batch.json()["outputs"]) == 3


def test_every_request_is_audited_with_its_outcome(serve) -> None:
    # Strict mode: each answer waits until its event is durable, so the log already
    # holds it when the response arrives.
    running = serve({"server": {"audit_wait": True}})
    assert running.predict({"input": GOOD_ROW}).status_code == 200
    assert running.predict({"input": GOOD_ROW}, key="").status_code == 401
    events = _events(running)
    assert [(e["actor"], e["outcome"], e["status"]) for e in events] == [
        ("scorer", "success", 200),
        ("anonymous", "denied", 401),
    ]
    assert events[0]["resource"] == "model/churn@1" and events[0]["rows"] == 1
    assert events[1]["guard"] == "auth" and events[1]["error"] == "auth.missing_key"


def test_security_headers_on_answers_and_refusals(serve) -> None:
    running = serve()
    for response in (running.predict({"input": GOOD_ROW}), running.predict({}, key="")):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        assert headers["strict-transport-security"].startswith("max-age=")
        assert "server" not in headers


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    doc = response.json()
    assert doc["status"] == status and doc["code"] == code
    assert doc["type"].endswith(code) and doc["request_id"]
    return dict(doc)


def test_malformed_requests_get_problem_json_never_500(serve) -> None:
    running = serve({"server": {"max_body_bytes": 4096, "max_batch": 4}})
    key = running.deployment.keys["scorer"]
    with running.client(key) as client:
        url = "/v1/models/churn/predict"
        _problem(
            client.post(url, content=b"{not json", headers={"content-type": "application/json"}),
            400,
            "input.malformed_json",
        )
        _problem(
            client.post(url, content=b"age=3", headers={"content-type": "text/plain"}),
            415,
            "input.unsupported_media_type",
        )
        _problem(client.post(url, json={"rows": []}), 422, "input.malformed")
        _problem(client.post(url, json={"inputs": []}), 422, "input.malformed")
        _problem(client.post(url, json={"inputs": [GOOD_ROW] * 5}), 413, "input.batch_too_large")
        _problem(client.post(url, json={"inputs": [1, 2]}), 422, "input.malformed")
        big = json.dumps({"input": {"age": "x" * 5000}}).encode()
        _problem(
            client.post(url, content=big, headers={"content-type": "application/json"}),
            413,
            "input.too_large",
        )

        def chunks():
            yield b'{"input": {"age": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}}'

        _problem(
            client.post(url, content=chunks(), headers={"content-type": "application/json"}),
            413,
            "input.too_large",
        )
        _problem(
            client.post("/v1/models/nope/predict", json={"input": GOOD_ROW}),
            404,
            "gateway.model_not_found",
        )
        _problem(client.get(url), 405, "gateway.method_not_allowed")
        _problem(client.get("/v1/nothing"), 404, "gateway.not_found")


def test_unauthenticated_callers_learn_nothing_about_models(serve) -> None:
    running = serve()
    known = running.predict({"input": GOOD_ROW}, key="")
    unknown = running.predict({"input": GOOD_ROW}, key="", model="secret-model")
    assert known.status_code == unknown.status_code == 401
    assert known.json()["code"] == unknown.json()["code"] == "auth.missing_key"


def test_model_listing_needs_model_list(serve) -> None:
    running = serve()
    with running.client(running.deployment.keys["scorer"]) as client:
        doc = client.get("/v1/models").json()
    (model,) = doc["models"]
    assert model["name"] == "churn" and model["version"] == 1
    assert model["guards"] == ["auth", "rbac", "rate_limit", "validation", "ood", "harden"]
    assert sorted(model["input_schema"]["properties"]) == sorted(GOOD_ROW)
    executive = running.deployment.service("ceo-bot", role="executive")
    with running.client(executive) as client:
        _problem(client.get("/v1/models"), 403, "access.denied")


def test_metrics_need_metrics_read_and_count_outcomes(serve) -> None:
    running = serve()
    running.predict({"input": GOOD_ROW})
    running.predict({"input": {"age": 500, "tenure_months": 1, "monthly_charges": 50}})
    watcher = running.deployment.service("prom", role="analyst")
    with running.client(watcher) as client:
        text = client.get("/metrics").text
    assert 'bastion_gateway_request_seconds_count{model="churn",outcome="success"} 1.0' in text
    assert (
        'bastion_gateway_refusals_total{code="input.out_of_range",guard="validation"} 1.0' in text
    )
    assert "process_resident_memory_bytes" in text
    with running.client(running.deployment.keys["scorer"]) as client:
        _problem(client.get("/metrics"), 403, "access.denied")


def test_health_and_readiness(serve) -> None:
    running = serve()
    with running.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["models"] == {"churn": 1}


def test_batched_audit_reaches_the_log_within_the_flush_window(serve) -> None:
    import time

    running = serve({"server": {"audit_wait": False, "audit_flush_ms": 20}})
    for _ in range(5):
        assert running.predict({"input": GOOD_ROW}).status_code == 200
    deadline = time.monotonic() + 5
    while len(_events(running)) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)  # the gateway's own flush timer, not the test's clock
    assert [e["status"] for e in _events(running)] == [200] * 5


def test_no_answer_without_an_audit_trail(serve) -> None:
    """Fail closed: when the audit log cannot be written, predictions are withheld."""
    strict = serve({"server": {"audit_wait": True}})
    assert strict.predict({"input": GOOD_ROW}).status_code == 200
    strict.deployment.ws.audit.close()  # the audit log stops accepting events
    refused = strict.predict({"input": GOOD_ROW})
    _problem(refused, 503, "audit.error")
    assert "outputs" not in refused.json()


def test_batched_mode_also_fails_closed(serve) -> None:
    import time

    running = serve({"server": {"audit_flush_ms": 1}})
    running.deployment.ws.audit.close()
    # The first answer may leave before its batch fails; once it has, every request is
    # refused.
    statuses = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        statuses.append(running.predict({"input": GOOD_ROW}).status_code)
        if statuses[-1] == 503:
            break
    assert statuses[-1] == 503 and len(statuses) <= 3
    assert running.predict({"input": GOOD_ROW}).status_code == 503


def test_a_model_the_gateway_cannot_feed_is_not_served(serve, deployment, churn_files) -> None:
    from bastion.models import registry

    _, model = churn_files
    mixed = deployment.root / "mixed.csv"
    mixed.write_text(
        "age,tenure_months,plan,churned\n"
        + "".join(
            f"{20 + i % 50},{i % 100},{'basic' if i % 3 else 'pro'},{i % 2}\n" for i in range(300)
        )
    )
    registry.register(
        deployment.ws, deployment.engineer, model, "churn", training_data=mixed, target="churned"
    )
    registry.promote(deployment.ws, deployment.engineer, "churn", 2, reason="test")
    running = serve()
    response = running.predict({"input": GOOD_ROW})
    _problem(response, 404, "gateway.model_not_found")
    assert running.gateway.table.errors["churn"].startswith("gateway.schema_unsupported")
    with running.client() as client:
        assert client.get("/readyz").status_code == 503
