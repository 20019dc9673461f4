"""The gateway's OpenAPI document: request bodies, every answer a route can give
(problem+json included), and the API-key security schemes. Routes read their
documentation from here so that ``app.py`` stays about behaviour."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bastion.gateway.problems import PROBLEM_SCHEMA, PROBLEM_TYPE

DESCRIPTION = (
    "Every prediction is authenticated (API key), authorized (`model:predict` on the "
    "model), rate-limited, validated against the input schema recorded at registration, "
    "scored for out-of-distribution input, hardened on the way out, and audited. "
    "Refusals are `application/problem+json` naming the guard and a stable code."
)
_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
_SCALAR = {"type": ["number", "string", "boolean", "null"]}
_ROW = {
    "oneOf": [
        {"type": "object", "additionalProperties": _SCALAR},
        {"type": "array", "items": _SCALAR},
    ]
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_REASONS = {
    400: "The body is not JSON.",
    401: "No valid API key: missing, unknown, expired or revoked.",
    403: "The key's principal may not do this.",
    404: "No such model is being served, or no such review item.",
    409: "The review item was already decided.",
    413: "The body or the batch is too large.",
    415: "The body is not application/json.",
    422: "The input failed validation or was out of distribution (see `code`).",
    429: "Rate limit exceeded; see Retry-After.",
    503: "Timed out, or the request could not be audited.",
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": _REASONS[status],
            "content": {PROBLEM_TYPE: {"schema": _PROBLEM_REF}},
        }
        for status in statuses
    }


def _ok(description: str, schema: dict[str, Any], media: str = "application/json") -> Any:
    return {200: {"description": description, "content": {media: {"schema": schema}}}}


def predict_route(max_batch: int) -> dict[str, Any]:
    """Documentation of ``POST /v1/models/{name}/predict``."""
    body = {
        "oneOf": [
            {
                "type": "object",
                "required": ["input"],
                "properties": {"input": _ROW},
                "additionalProperties": False,
            },
            {
                "type": "object",
                "required": ["inputs"],
                "properties": {
                    "inputs": {"type": "array", "items": _ROW, "minItems": 1, "maxItems": max_batch}
                },
                "additionalProperties": False,
            },
        ]
    }
    answer = {
        "type": "object",
        "required": ["model", "version", "request_id", "outputs"],
        "properties": {
            "model": {"type": "string"},
            "version": {"type": "integer"},
            "request_id": {"type": "string"},
            "outputs": {"type": "array", "items": {"type": "object"}},
            "flags": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["guard", "code", "detail"],
                    "properties": {
                        "guard": {"type": "string"},
                        "code": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
    }
    return {
        "summary": "Predict with a served model (one row or a batch)",
        "openapi_extra": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "security": _SECURITY,
        },
        "responses": {
            **_ok("The model's outputs, hardened; flags if a guard had concerns.", answer),
            **_problems(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
    }


def models_route() -> dict[str, Any]:
    """Documentation of ``GET /v1/models``."""
    answer = {
        "type": "object",
        "required": ["models"],
        "properties": {"models": {"type": "array", "items": {"type": "object"}}},
    }
    return {
        "summary": "List the served models with their versions and input schemas",
        "openapi_extra": {"security": _SECURITY},
        "responses": {**_ok("Served models.", answer), **_problems(401, 403, 503)},
    }


def metrics_route() -> dict[str, Any]:
    """Documentation of ``GET /metrics``."""
    return {
        "summary": "Prometheus metrics (needs metrics:read)",
        "openapi_extra": {"security": _SECURITY},
        "responses": {
            **_ok("Prometheus text exposition.", {"type": "string"}, "text/plain"),
            **_problems(401, 403, 503),
        },
    }


_REVIEW_ITEM = {
    "type": "object",
    "required": ["id", "model", "version", "status", "rows", "answers", "disagreement"],
    "properties": {
        "id": {"type": "string"},
        "model": {"type": "string"},
        "version": {"type": "integer"},
        "request_id": {"type": "string"},
        "principal": {"type": "string"},
        "source": {"type": "string"},
        "created_at": {"type": "string"},
        "disagreement": {"type": "number"},
        "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
        "rows": {"type": "array"},
        "answers": {"type": "object"},
        "decided_by": {"type": ["string", "null"]},
        "decided_at": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
    },
}
_SESSION: list[dict[str, list[str]]] = [{"bearer": []}]


def review_list_route() -> dict[str, Any]:
    """Documentation of ``GET /v1/review``."""
    answer = {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _REVIEW_ITEM}},
    }
    return {
        "summary": "List the human review queue (MFA session with model:review)",
        "openapi_extra": {"security": _SESSION},
        "responses": {**_ok("Review items.", answer), **_problems(400, 401, 403, 422, 503)},
    }


def review_decide_route() -> dict[str, Any]:
    """Documentation of ``POST /v1/review/{item_id}``."""
    body = {
        "type": "object",
        "required": ["decision", "reason"],
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "reject"]},
            "reason": {"type": "string", "minLength": 1, "maxLength": 1000},
        },
        "additionalProperties": False,
    }
    return {
        "summary": "Approve or reject a review item, with a reason",
        "openapi_extra": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "security": _SESSION,
        },
        "responses": {
            **_ok("The decided item.", _REVIEW_ITEM),
            **_problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
        },
    }


def health_route() -> dict[str, Any]:
    """Documentation of ``GET /healthz``."""
    schema = {"type": "object", "properties": {"status": {"type": "string"}}}
    return {"summary": "Liveness", "responses": _ok("The process is up.", schema)}


def ready_route() -> dict[str, Any]:
    """Documentation of ``GET /readyz``."""
    schema = {
        "type": "object",
        "required": ["status", "models", "problems"],
        "properties": {
            "status": {"type": "string"},
            "models": {"type": "object", "additionalProperties": {"type": "integer"}},
            "problems": {"type": "array", "items": {"type": "string"}},
        },
    }
    return {
        "summary": "Readiness: database reachable and a model served",
        "responses": {
            **_ok("Ready.", schema),
            503: {"description": "Not ready.", "content": {"application/json": {"schema": schema}}},
        },
    }


def install(app: FastAPI, max_batch: int) -> None:
    """Add the shared components (Problem, security schemes) to the generated document."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = doc.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
