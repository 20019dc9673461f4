"""The inference-gateway part of ``bastion demo``: serve the production churn model over
HTTPS, then send it good, malformed, unauthorized, out-of-range and bursty traffic, and
show the audit trail and the metrics. Called by :mod:`bastion.demo`."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from rich.console import Console

from bastion.audit.store import AuditQuery
from bastion.context import Context
from bastion.crypto.tls import client_context
from bastion.gateway.app import build_gateway, create_app
from bastion.gateway.config import parse_config
from bastion.gateway.server import ServeOptions, uvicorn_config
from bastion.identity import apikeys, principals
from bastion.workspace import Workspace

# Small limits so that the demo's burst meets them: 10 requests a second per key.
DEMO_CONFIG: dict[str, Any] = {
    "defaults": {"rate_limit": {"per_key": ["10/second", "600/minute"]}},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_gateway(ws: Workspace, doc: dict[str, Any]) -> Iterator[tuple[str, ssl.SSLContext]]:
    """Serve the workspace's production models on a free port, in a thread, over HTTPS."""
    import uvicorn

    config = parse_config(doc, bastion_dir=ws.settings.bastion_dir)
    app = create_app(build_gateway(ws, config, auth_cache_s=5.0))
    port = _free_port()
    server = uvicorn.Server(uvicorn_config(app, config, ServeOptions(port=port)))
    thread = threading.Thread(target=server.run, name="bastion-demo-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the demo gateway did not start")
        time.sleep(0.02)
    try:
        yield f"https://127.0.0.1:{port}", client_context(config.tls.cert)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _show(console: Console, what: str, response: httpx.Response) -> None:
    doc = response.json()
    if response.status_code == 200:
        out = doc["outputs"][0]
        console.print(
            f"  {what}: 200 churn@{doc['version']} label={out.get('label')} "
            f"p={out.get('probabilities')}",
            markup=False,
        )
    else:
        console.print(
            f"  [red]refused[/] {what}: {response.status_code} {doc['code']} "
            f"(guard {doc.get('guard', '-')}): {doc['detail']}",
            highlight=False,
        )


def gateway_tour(
    console: Console,
    step: Callable[[str], None],
    ws: Workspace,
    admin: Context,
) -> None:
    """Steps: serve, good and bad requests, a burst, TLS 1.2 refused, audit and metrics."""
    step("Inference gateway: churn served over HTTPS (TLS 1.3) behind every guard")
    principals.add_principal(ws, admin, "churn-app", "service", service_account=True)
    app_key = apikeys.create_key(ws, admin, "churn-app", scopes=["model:predict@model/churn"])
    principals.add_principal(ws, admin, "grafana", "analyst", service_account=True)
    metrics_key = apikeys.create_key(ws, admin, "grafana")
    good = {"age": 42, "tenure_months": 7, "monthly_charges": 99.5}
    with running_gateway(ws, DEMO_CONFIG) as (url, tls):
        console.print(f"  {url}  guards: auth, rbac, rate_limit, validation, ood, harden")
        with httpx.Client(base_url=url, verify=tls) as client:
            predict = "/v1/models/churn/predict"
            auth = {"Authorization": f"Bearer {app_key.token}"}
            _show(
                console, "a good request", client.post(predict, json={"input": good}, headers=auth)
            )
            batch = client.post(predict, json={"inputs": [good, [30, 60, 20.0]]}, headers=auth)
            console.print(
                f"  a batch of 2: {batch.status_code}, {len(batch.json()['outputs'])} answers"
            )
            _show(console, "no API key", client.post(predict, json={"input": good}))
            _show(
                console,
                "the analyst's key (no model:predict)",
                client.post(
                    predict,
                    json={"input": good},
                    headers={"X-API-Key": metrics_key.token},
                ),
            )
            _show(
                console,
                "broken JSON",
                client.post(
                    predict,
                    content=b'{"input": {"age": 4',
                    headers={**auth, "content-type": "application/json"},
                ),
            )
            _show(
                console,
                "a missing feature",
                client.post(predict, json={"input": {"age": 42}}, headers=auth),
            )
            _show(
                console,
                "age 430 (outside the training range)",
                client.post(predict, json={"input": {**good, "age": 430}}, headers=auth),
            )
            burst = [
                client.post(predict, json={"input": good}, headers=auth).status_code
                for _ in range(25)
            ]
            counts = Counter(burst)
            console.print(
                f"  a burst of 25 requests: {counts[200]} answered, {counts[429]} refused "
                "with 429 and Retry-After (limit 10/second per key)"
            )
            try:
                old = ssl.create_default_context(cafile=None)
                old.check_hostname = False
                old.verify_mode = ssl.CERT_NONE
                old.maximum_version = ssl.TLSVersion.TLSv1_2
                host, port = url.removeprefix("https://").split(":")
                with socket.create_connection((host, int(port)), timeout=5) as raw:
                    old.wrap_socket(raw, server_hostname=host)
                console.print("  [red]TLS 1.2 was accepted[/]")
                raise RuntimeError("the gateway accepted TLS 1.2")
            except ssl.SSLError:
                console.print("  a TLS 1.2 client is refused at the handshake")
            metrics = client.get(
                "/metrics", headers={"Authorization": f"Bearer {metrics_key.token}"}
            ).text

    step("Every request is in the audit log; the metrics say the same")
    ws.audit.flush()
    events = ws.audit_store.query(AuditQuery(action="gateway.predict"))
    outcome = Counter((e.outcome, json.loads(e.details).get("error", "-")) for e in events)
    console.print(f"  {len(events)} gateway.predict events:")
    for (result, code), n in sorted(outcome.items()):
        console.print(f"    {n:>3} {result:<8} {code}", markup=False)
    last = events[-1]
    console.print(
        f"  latest: #{last.seq} actor={last.actor} {last.resource} from {last.source}",
        markup=False,
    )
    for line in metrics.splitlines():
        if line.startswith(
            (
                "bastion_gateway_request_seconds_count",
                "bastion_gateway_refusals_total{",
                "process_resident_memory_bytes",
            )
        ):
            console.print(f"  {line}", markup=False)
