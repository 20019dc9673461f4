"""problem+json (RFC 9457) for every refusal and error the gateway answers with."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from bastion.errors import BastionError, RequestRefused

PROBLEM_TYPE = "application/problem+json"
# The body every problem response has (OpenAPI documents it under this name).
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code", "detail", "request_id"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "guard": {"type": "string"},
        "hint": {"type": "string"},
        "request_id": {"type": "string"},
        "details": {"type": "object"},
    },
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    request_id: str,
    *,
    guard: str | None = None,
    hint: str = "",
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://bastion.dev/problems/{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": request_id,
    }
    if guard:
        body["guard"] = guard
    if hint:
        body["hint"] = hint
    if details:
        body["details"] = details
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def from_error(exc: BastionError, request_id: str) -> Response:
    """The one place a BastionError becomes an HTTP answer."""
    if isinstance(exc, RequestRefused):
        return problem(
            exc.http_status,
            exc.code,
            exc.message,
            request_id,
            guard=exc.guard,
            hint=exc.hint,
            details=exc.details,
            headers=exc.headers,
        )
    status = exc.http_status if exc.http_status < 500 else 503
    # Server-side failures say what kind, never internals (paths, SQL, key ids).
    detail = exc.message if status < 500 else "the gateway could not complete the request"
    return problem(status, exc.code, detail, request_id, hint=exc.hint if status < 500 else "")
