"""The gateway's HTTP app: thin routes over the guard pipeline, the served models and
the request auditor.

Every ``/v1`` request is authenticated first (an unauthenticated caller learns nothing,
not even which models exist), then authorized, then handed to the model's guards in
their configured order; every one of them, refused or answered, writes one audit event
and updates the metrics. Errors become problem+json in one place (:func:`_answer`).
Health probes (``/healthz``, ``/readyz``) are the only routes without a key and without
an audit event: they reveal nothing and a load balancer calls them every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.audit.events import Outcome
from bastion.context import ANONYMOUS, Context, Principal
from bastion.errors import AuditError, BastionError, RequestRefused
from bastion.gateway import openapi, review
from bastion.gateway.auditing import RequestAuditor
from bastion.gateway.config import GatewayConfig
from bastion.gateway.guards import registry
from bastion.gateway.guards.auth import authenticate
from bastion.gateway.guards.base import Call, GuardSetup
from bastion.gateway.guards.validation import plain_matrix
from bastion.gateway.metrics import CONTENT_TYPE, GatewayMetrics
from bastion.gateway.problems import from_error, problem
from bastion.gateway.serving import ModelTable, ServedModel
from bastion.gateway.shared import Credentials, RoleGrants, SharedServices, rate_limit_storage
from bastion.identity import sessions
from bastion.identity.access import check
from bastion.workspace import Workspace

log = logging.getLogger("bastion.gateway")
_JSON = "application/json"


@dataclass
class Gateway:
    """Everything one gateway process runs on."""

    ws: Workspace
    config: GatewayConfig
    shared: SharedServices
    table: ModelTable
    auditor: RequestAuditor
    tls: bool = True
    # Worker processes open their own workspace and close it when the app stops.
    owns_workspace: bool = False

    @property
    def metrics(self) -> GatewayMetrics:
        """The process's metrics."""
        return self.shared.metrics


def build_gateway(
    ws: Workspace,
    config: GatewayConfig,
    *,
    redis_url: str | None = None,
    models: list[str] | None = None,
    auth_cache_s: float = 5.0,
    tls: bool = True,
    owns_workspace: bool = False,
) -> Gateway:
    """Wire the services together; models are loaded when the app starts."""
    shared = SharedServices(
        credentials=Credentials(ws, auth_cache_s),
        grants=RoleGrants(ws, auth_cache_s),
        limiter_storage=rate_limit_storage(redis_url),
        metrics=GatewayMetrics(),
        shared_limits=bool(redis_url),
    )

    def attach(served: ServedModel) -> ServedModel:
        policy = config.policy(served.name)
        served.guards = registry.build(
            policy.guards,
            lambda guard: GuardSetup(ws, served.name, policy.of(guard), shared),
        )
        return served

    table = ModelTable(ws, attach, models)
    shared.lookup = table.get
    return Gateway(
        ws=ws,
        config=config,
        shared=shared,
        table=table,
        auditor=RequestAuditor(ws, wait=config.audit_wait, flush_ms=config.audit_flush_ms),
        tls=tls,
        owns_workspace=owns_workspace,
    )


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class Hardening:
    """Security headers on every response; bodies over the limit refused before reading."""

    def __init__(self, app: ASGIApp, *, max_body: int, tls: bool) -> None:
        self.app = app
        self.max_body = max_body
        self.headers = _SECURITY_HEADERS + ([_HSTS] if tls else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_body
                except ValueError:
                    too_large = True
                if too_large:
                    answer = problem(
                        413,
                        "input.too_large",
                        f"request bodies are limited to {self.max_body} bytes",
                        secrets.token_hex(16),
                        guard="gateway",
                    )
                    await answer(scope, receive, send_hardened)
                    return
        await self.app(scope, receive, send_hardened)


async def _read_json(request: Request, limit: int) -> Any:
    """The request's JSON body, bounded even when no Content-Length was sent."""
    ctype = request.headers.get("content-type", "")
    if ctype.split(";", 1)[0].strip().lower() != _JSON:
        raise RequestRefused(
            "send the body as application/json",
            guard="gateway",
            code="input.unsupported_media_type",
            status=415,
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRefused(
                f"request bodies are limited to {limit} bytes",
                guard="gateway",
                code="input.too_large",
                status=413,
            )
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError) as exc:
        raise RequestRefused(
            "the body is not valid JSON", guard="gateway", code="input.malformed_json", status=400
        ) from exc


def _rows(body: Any, max_batch: int) -> list[Any]:
    """``{"input": row}`` or ``{"inputs": [row, ...]}``; anything else is refused."""
    if isinstance(body, dict) and len(body) == 1:
        if "input" in body and isinstance(body["input"], dict | list):
            return [body["input"]]
        batch = body.get("inputs")
        if isinstance(batch, list) and 0 < len(batch) <= max_batch:
            if all(isinstance(row, dict | list) for row in batch):
                return batch
            raise RequestRefused(
                "every row must be an object or an array",
                guard="gateway",
                code="input.malformed",
                status=422,
            )
        if isinstance(batch, list) and len(batch) > max_batch:
            raise RequestRefused(
                f"at most {max_batch} rows per request",
                guard="gateway",
                code="input.batch_too_large",
                status=413,
            )
    raise RequestRefused(
        'send {"input": row} or {"inputs": [row, ...]}',
        guard="gateway",
        code="input.malformed",
        status=422,
    )


def _matrix(call: Call, served: ServedModel) -> Any:
    """The float32 rows when no validation guard built them: fatal errors still refused."""
    if served.schema is None:
        return plain_matrix(served, call.rows)
    checked = served.schema.validate(call.rows)
    if checked.matrix is None:
        first = checked.violations[0]
        raise RequestRefused(
            f"row {first.row}: {first.message}", guard="input", code=first.code, status=422
        )
    return checked.matrix


def _json(doc: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(doc, separators=(",", ":")), status_code=status, media_type=_JSON)


def _source(request: Request) -> str:
    client = request.client
    return client.host if client is not None else "unknown"


async def _answer(
    gw: Gateway,
    call: Call,
    action: str,
    resource: Callable[[], str],
    work: Callable[[], Awaitable[Response]],
) -> Response:
    """Run ``work``; whatever happens, audit it, count it, and answer (problem+json)."""
    metrics = gw.metrics
    started = time.perf_counter()
    metrics.in_flight.inc()
    outcome = Outcome.SUCCESS
    status = 200
    details = call.audit
    try:
        try:
            async with asyncio.timeout(gw.config.request_timeout_s):
                response = await work()
            status = response.status_code
        except RequestRefused as exc:
            outcome = Outcome.DENIED if exc.http_status in (401, 403, 429) else Outcome.ERROR
            metrics.refusals.labels(exc.guard, exc.code).inc()
            details.update(guard=exc.guard, error=exc.code)
            response = from_error(exc, call.request_id)
        except BastionError as exc:
            outcome = Outcome.ERROR
            details["error"] = exc.code
            response = from_error(exc, call.request_id)
        except TimeoutError:
            outcome = Outcome.ERROR
            details["error"] = "gateway.timeout"
            response = problem(503, "gateway.timeout", "the request took too long", call.request_id)
        status = response.status_code
        if call.flags:
            details["flags"] = [f.code for f in call.flags]
            for f in call.flags:
                metrics.flags.labels(f.guard, f.code).inc()
        details["status"] = status
        principal: Principal | None = call.principal
        try:
            await gw.auditor.record(
                actor=principal.name if principal else str(details.pop("key_owner", "anonymous")),
                action=action,
                resource=resource(),
                outcome=outcome,
                source=call.source,
                request_id=call.request_id,
                details=details,
            )
        except AuditError:
            # Fail closed: an answer whose audit event may be lost is not given.
            log.exception("audit write failed for request %s", call.request_id)
            outcome = Outcome.ERROR
            response = problem(
                503, "audit.error", "the request could not be audited", call.request_id
            )
        response.headers["x-request-id"] = call.request_id
        return response
    finally:
        metrics.in_flight.dec()
        label = call.model if call.served is not None else "-"
        metrics.latency.labels(label, outcome.value).observe(time.perf_counter() - started)


def _authorized(permission: str, resource: str) -> Callable[[Call, Gateway], Awaitable[None]]:
    async def require(call: Call, gw: Gateway) -> None:
        await authenticate(gw.shared.credentials, call)
        assert call.principal is not None
        grants = await gw.shared.grants.of(call.principal.role)
        try:
            check(call.principal, grants, permission, resource)
        except BastionError as exc:
            raise RequestRefused(
                exc.message, guard="rbac", code=exc.code, status=403, hint=exc.hint
            ) from exc

    return require


def create_app(gw: Gateway) -> FastAPI:
    """The ASGI app for one gateway process."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(gw.table.refresh)
        watcher = (
            asyncio.create_task(gw.table.watch(gw.config.reload_s))
            if gw.config.reload_s > 0
            else None
        )
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            gw.auditor.drain()
            await asyncio.to_thread(gw.ws.close if gw.owns_workspace else gw.ws.audit.flush)

    app = FastAPI(
        title="Bastion inference gateway",
        version="1",
        description=openapi.DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    config = gw.config

    # Request ids: a random per-process prefix and a counter. Unique and cheap; they
    # correlate answers with audit events and are not secrets (os.urandom costs ~70 µs
    # per call in this VM, a third of a request's budget).
    prefix = secrets.token_hex(8)
    counter = itertools.count()

    def new_call(request: Request, model: str = "") -> Call:
        return Call(
            model=model,
            request_id=f"{prefix}{next(counter):016x}",
            source=_source(request),
            headers=request.headers,
            rows=[],
        )

    @app.post("/v1/models/{name}/predict", **openapi.predict_route(config.max_batch))
    async def predict(name: str, request: Request) -> Response:
        call = new_call(request, name)

        async def work() -> Response:
            await authenticate(gw.shared.credentials, call)
            served = gw.table.get(name)
            call.served = served
            call.rows = _rows(await _read_json(request, config.max_body_bytes), config.max_batch)
            call.audit["rows"] = len(call.rows)
            guards = served.guards
            for guard in guards:
                await guard.before(call)
            if call.matrix is None:
                call.matrix = _matrix(call, served)
            call.outputs = await served.predict_async(call.matrix)
            for guard in reversed(guards):
                await guard.after(call)
            doc: dict[str, Any] = {
                "model": served.name,
                "version": served.version,
                "request_id": call.request_id,
                "outputs": call.outputs,
            }
            if call.flags:
                doc["flags"] = [f.as_dict() for f in call.flags]
            return _json(doc)

        def resource() -> str:
            served = call.served
            return f"model/{served.name}@{served.version}" if served else f"model/{name[:128]}"

        return await _answer(gw, call, "gateway.predict", resource, work)

    list_models = _authorized("model:list", "model/*")

    @app.get("/v1/models", **openapi.models_route())
    async def models(request: Request) -> Response:
        call = new_call(request)

        async def work() -> Response:
            await list_models(call, gw)
            served = sorted(gw.table.models.values(), key=lambda m: m.name)
            return _json({"models": [m.describe() for m in served]})

        return await _answer(gw, call, "gateway.models", lambda: "model/*", work)

    read_metrics = _authorized("metrics:read", "metrics/gateway")

    @app.get("/metrics", **openapi.metrics_route())
    async def metrics(request: Request) -> Response:
        call = new_call(request)

        async def work() -> Response:
            await read_metrics(call, gw)
            return Response(gw.metrics.render(), media_type=CONTENT_TYPE)

        return await _answer(gw, call, "gateway.metrics", lambda: "metrics/gateway", work)

    async def reviewer(request: Request, request_id: str) -> Context:
        """The person behind an MFA session token (the review queue is for people)."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        anon = Context(
            principal=ANONYMOUS, source=_source(request), request_id=request_id, clock=gw.ws.clock
        )
        if scheme.lower() != "bearer" or not token.strip():
            raise RequestRefused(
                "a session token from 'bastion login' is required",
                guard="auth",
                code="auth.missing_session",
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="bastion"'},
            )
        principal = await asyncio.to_thread(
            sessions.authenticate_session, gw.ws, anon, token.strip()
        )
        return anon.as_(principal)

    @app.get("/v1/review", **openapi.review_list_route())
    async def review_list(request: Request, status: str = "pending", limit: int = 100) -> Response:
        request_id = secrets.token_hex(16)
        try:
            ctx = await reviewer(request, request_id)
            items = await asyncio.to_thread(
                review.list_items, gw.ws, ctx, status=status, limit=limit
            )
        except BastionError as exc:
            return from_error(exc, request_id)
        return _json({"items": [item.as_dict() for item in items]})

    @app.post("/v1/review/{item_id}", **openapi.review_decide_route())
    async def review_decide(item_id: str, request: Request) -> Response:
        request_id = secrets.token_hex(16)
        try:
            ctx = await reviewer(request, request_id)
            body = await _read_json(request, 16_384)
            if not isinstance(body, dict) or set(body) != {"decision", "reason"}:
                raise RequestRefused(
                    'send {"decision": "approve" | "reject", "reason": "..."}',
                    guard="gateway",
                    code="input.malformed",
                    status=422,
                )
            item = await asyncio.to_thread(
                review.decide, gw.ws, ctx, item_id, str(body["decision"]), str(body["reason"])
            )
        except BastionError as exc:
            return from_error(exc, request_id)
        return _json(item.as_dict())

    @app.get("/healthz", **openapi.health_route())
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz", **openapi.ready_route())
    async def readyz() -> Response:
        problems: list[str] = []
        try:
            await asyncio.to_thread(_ping, gw.ws)
        except Exception:  # any failure to reach the database means not ready
            problems.append("database unreachable")
        if not gw.table.models:
            problems.append("no model in production is being served")
        doc = {
            "status": "ready" if not problems else "not ready",
            "models": {n: m.version for n, m in sorted(gw.table.models.items())},
            "problems": problems,
        }
        return _json(doc, 200 if not problems else 503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "gateway.not_found", 405: "gateway.method_not_allowed"}.get(
            exc.status_code, "gateway.http_error"
        )
        return problem(exc.status_code, code, str(exc.detail), secrets.token_hex(16))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return problem(422, "input.malformed", "the request is malformed", secrets.token_hex(16))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        request_id = secrets.token_hex(16)
        log.exception("unexpected error (request %s)", request_id)
        return problem(500, "gateway.internal", "unexpected error", request_id)

    app.add_middleware(Hardening, max_body=config.max_body_bytes, tls=gw.tls)
    openapi.install(app, config.max_batch)
    return app


def _ping(ws: Workspace) -> None:
    with ws.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
