"""Schemathesis against the gateway's own OpenAPI document, over real HTTPS: for a
bounded number of generated requests per operation (valid and deliberately invalid
ones), no 5xx and no answer that breaks the documented schema, status codes, content
types or headers."""

from __future__ import annotations

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.gateway.conftest import Running

EXAMPLES_PER_OPERATION = 60


def _fuzz(running: Running, mode: GenerationMode, key: str) -> int:
    schema = schemathesis.openapi.from_dict(running.gateway_app.openapi())
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would win otherwise
    session.verify = str(running.ca)
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            nonlocal calls
            headers = {"Authorization": f"Bearer {key}"}
            if case.headers:
                headers = {**case.headers, **headers}
            response = case.call(
                base_url=running.url, session=session, headers=headers, verify=str(running.ca)
            )
            calls += 1
            # Checks that replay the request (ignored_auth) go over the same trusted session.
            case.validate_response(
                response, transport_kwargs={"session": session, "verify": str(running.ca)}
            )

        try:
            check()
        except Unsatisfiable:
            # No invalid request exists for an operation without inputs (/healthz).
            assert mode is GenerationMode.NEGATIVE
    session.close()
    return calls


def test_positive_requests_conform(serve) -> None:
    running = serve({"defaults": {"rate_limit": {"per_key": ["100000/minute"]}}})
    watcher = running.deployment.service("fuzz-admin", role="engineer")
    assert _fuzz(running, GenerationMode.POSITIVE, watcher) >= 5 * 20


def test_negative_requests_conform(serve) -> None:
    running = serve({"defaults": {"rate_limit": {"per_key": ["100000/minute"]}}})
    assert _fuzz(running, GenerationMode.NEGATIVE, running.deployment.keys["scorer"]) >= 20
