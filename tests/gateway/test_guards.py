"""Rate limiting, input validation, out-of-distribution scoring and output hardening,
each with its accept and reject paths, over real HTTPS."""

from __future__ import annotations

from tests.gateway.conftest import GOOD_ROW, Running


def _limits(per_key: list[str], per_address: list[str]) -> dict[str, object]:
    return {"defaults": {"rate_limit": {"per_key": per_key, "per_address": per_address}}}


def _statuses(running: Running, n: int, key: str | None = None) -> list[int]:
    key = key or running.deployment.keys["scorer"]
    with running.client(key) as client:
        return [
            client.post("/v1/models/churn/predict", json={"input": GOOD_ROW}).status_code
            for _ in range(n)
        ]


def test_per_key_limit_refuses_with_retry_after(serve) -> None:
    running = serve(_limits(["5/minute"], ["1000/minute"]))
    assert _statuses(running, 7) == [200] * 5 + [429] * 2
    with running.client(running.deployment.keys["scorer"]) as client:
        refused = client.post("/v1/models/churn/predict", json={"input": GOOD_ROW})
    assert refused.status_code == 429
    doc = refused.json()
    assert doc["guard"] == "rate_limit" and doc["code"] == "rate.limited_per_key"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Another key has its own allowance.
    other = running.deployment.service("other")
    assert _statuses(running, 2, other) == [200, 200]


def test_per_address_limit_spans_keys(serve) -> None:
    running = serve(_limits(["1000/minute"], ["4/minute"]))
    other = running.deployment.service("other")
    assert _statuses(running, 2) + _statuses(running, 3, other) == [200] * 4 + [429]
    with running.client(other) as client:
        doc = client.post("/v1/models/churn/predict", json={"input": GOOD_ROW}).json()
    assert doc["code"] == "rate.limited_per_address"


def test_burst_and_sustained_limits_both_apply(serve) -> None:
    running = serve(_limits(["3/second", "4/minute"], ["1000/minute"]))
    statuses = _statuses(running, 6)
    assert statuses.count(200) <= 4 and statuses[:3] == [200] * 3


def _post(running: Running, body: object) -> tuple[int, dict[str, object]]:
    response = running.predict(body)
    return response.status_code, response.json()


def test_validation_rejects_out_of_range_and_wrong_types(serve) -> None:
    running = serve()
    status, doc = _post(running, {"input": {"age": 500, "tenure_months": 1, "monthly_charges": 50}})
    assert status == 422 and doc["code"] == "input.out_of_range" and doc["guard"] == "validation"
    assert doc["details"]["violations"][0]["feature"] == "age"
    status, doc = _post(
        running, {"input": {"age": "forty", "tenure_months": 1, "monthly_charges": 5}}
    )
    assert status == 422 and doc["code"] == "input.wrong_type"
    status, doc = _post(running, {"input": {"age": 40, "tenure_months": 1}})
    assert status == 422 and doc["code"] == "input.missing_feature"
    status, doc = _post(running, {"input": {**GOOD_ROW, "ssn": "123-45-6789"}})
    assert status == 422 and doc["code"] == "input.unknown_feature"
    assert "123-45-6789" not in str(doc)
    status, doc = _post(running, {"input": [40, 12]})
    assert status == 422 and doc["code"] == "input.wrong_shape"
    status, doc = _post(running, {"input": {"age": True, "tenure_months": 1, "monthly_charges": 5}})
    assert status == 422 and doc["code"] == "input.wrong_type"
    # One bad row refuses the whole batch: nothing is half-answered.
    bad_batch = {"inputs": [GOOD_ROW, {"age": -3, "tenure_months": 1, "monthly_charges": 50}]}
    status, doc = _post(running, bad_batch)
    assert status == 422 and doc["details"]["violations"][0]["row"] == 1


def test_validation_in_flag_mode_answers_and_marks(serve) -> None:
    running = serve({"defaults": {"validation": {"mode": "flag"}}})
    status, doc = _post(running, {"input": {"age": 500, "tenure_months": 1, "monthly_charges": 50}})
    assert status == 200
    assert {"guard": "validation", "code": "input.out_of_range"}.items() <= doc["flags"][0].items()
    # Type errors are refused even in flag mode: the model cannot run on them.
    status, doc = _post(running, {"input": {"age": "x", "tenure_months": 1, "monthly_charges": 5}})
    assert status == 422


def test_out_of_distribution_input_is_flagged_or_refused(serve) -> None:
    flagging = serve({"defaults": {"validation": {"mode": "flag", "tolerance": 10.0}}})
    # Inside the (widened) ranges, so only the out-of-distribution guard speaks.
    far = {"age": 500, "tenure_months": 600, "monthly_charges": 800.0}
    status, doc = _post(flagging, {"input": far})
    assert status == 200
    assert [f["code"] for f in doc["flags"]] == ["ood.out_of_distribution"]
    status, doc = _post(flagging, {"input": GOOD_ROW})
    assert status == 200 and "flags" not in doc
    refusing = serve(
        {"defaults": {"validation": {"mode": "flag", "tolerance": 10.0}, "ood": {"mode": "reject"}}}
    )
    status, doc = _post(refusing, {"input": far})
    assert status == 422 and doc["code"] == "ood.out_of_distribution" and doc["guard"] == "ood"


def test_output_hardening_options(serve) -> None:
    label_only = serve({"defaults": {"harden": {"label_only": True}}})
    status, doc = _post(label_only, {"input": GOOD_ROW})
    assert status == 200 and set(doc["outputs"][0]) == {"label"}

    top1 = serve({"defaults": {"harden": {"top_k": 1, "decimals": 1}}})
    status, doc = _post(top1, {"input": GOOD_ROW})
    (best,) = doc["outputs"][0]["probabilities"]
    assert best["class"] == doc["outputs"][0]["label"] and round(best["p"], 1) == best["p"]

    plain = serve({"defaults": {"harden": {"decimals": 8}}})
    noisy = serve({"defaults": {"harden": {"decimals": 8, "noise": 0.05}}})
    rows = {"inputs": [GOOD_ROW] * 20}
    exact = _post(plain, rows)[1]["outputs"]
    blurred = _post(noisy, rows)[1]["outputs"]
    assert all(a["label"] == b["label"] for a, b in zip(exact, blurred, strict=True))
    assert len({tuple(o["probabilities"]) for o in blurred}) > 1  # fresh noise per answer
    assert all(abs(sum(o["probabilities"]) - 1) < 1e-6 for o in blurred)


def test_per_model_guard_order_and_overrides(serve) -> None:
    running = serve(
        {
            "models": {
                "churn": {"guards": ["auth", "rbac", "harden"], "harden": {"label_only": True}}
            }
        }
    )
    # No validation guard: out-of-range input reaches the model; type errors never do.
    status, doc = _post(running, {"input": {"age": 500, "tenure_months": 1, "monthly_charges": 50}})
    assert status == 200 and set(doc["outputs"][0]) == {"label"}
    status, doc = _post(running, {"input": {"age": "x", "tenure_months": 1, "monthly_charges": 5}})
    assert status == 422 and doc["code"] == "input.wrong_type"
