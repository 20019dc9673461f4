"""The inference gateway against a bare FastAPI + uvicorn + ONNX Runtime app serving the
same model, same worker count, in the same run, under wrk at concurrency 1, 16 and 64.

    .venv/bin/python bench/gateway_bench.py [--seconds 10] [--tls] [--workers 1]

Bastion runs `bastion serve` with every guard on (auth, rbac, rate_limit with limits
high enough never to refuse, validation, ood, harden) and every request audited; the
server is pinned to core 0 and wrk to core 1 (taskset). The two apps alternate per
concurrency level. Also measured in process, without HTTP: the guard pipeline's own CPU
time per request, the audit submit, and the ONNX run. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
ROW = {"age": 42, "tenure_months": 7, "monthly_charges": 99.5}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and os.cpu_count() else []


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start") from None
            time.sleep(0.05)


def _write_customers(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("age,tenure_months,monthly_charges,churned\n")
        for _ in range(rows):
            handle.write(
                f"{rng.randint(18, 90)},{rng.randint(0, 120)},"
                f"{rng.uniform(10, 150):.2f},{int(rng.random() < 0.27)}\n"
            )


def workspace(root: Path) -> tuple[dict[str, str], str, Path]:
    """A workspace with churn in production; returns (env for children, key, model)."""
    from bastion.bootstrap import initialize
    from bastion.config import Secret, Settings
    from bastion.context import ANONYMOUS, Context
    from bastion.crypto.keyring import generate_master_key
    from bastion.demo_supply_chain import train_onnx
    from bastion.identity import apikeys, credentials, principals, sessions
    from bastion.models import registry

    master = generate_master_key()
    settings = Settings(workspace=root / "ws", master_key=Secret(master), state_dir=root / "state")
    result = initialize(settings)
    ws = result.workspace
    admin_creds = result.admin
    assert admin_creds.password and admin_creds.totp_secret
    seed = base64.b32decode(admin_creds.totp_secret + "=" * (-len(admin_creds.totp_secret) % 8))
    anon = Context(principal=ANONYMOUS, source="bench", clock=ws.clock)
    grant = sessions.login(
        ws, anon, "admin", admin_creds.password, credentials.totp_code(seed, time.time())
    )
    admin = anon.as_(sessions.authenticate_session(ws, anon, grant.token))
    csv_path, model = root / "customers.csv", root / "churn.onnx"
    _write_customers(csv_path, 5000)
    train_onnx(csv_path, model, c=1.0)
    registry.register(
        ws,
        admin,
        model,
        "churn",
        training_data=csv_path,
        target="churned",
        features=list(ROW),
    )
    registry.promote(ws, admin, "churn", 1, reason="benchmark")
    principals.add_principal(ws, admin, "bench", "service", service_account=True)
    key = apikeys.create_key(ws, admin, "bench", ttl=None).token
    ws.close()
    (settings.bastion_dir / "gateway.toml").write_text(
        '[defaults.rate_limit]\nper_key = ["1000000000/minute"]\n'
        'per_address = ["1000000000/minute"]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(
        BASTION_WORKSPACE=str(settings.workspace),
        BASTION_MASTER_KEY=master,
        BASTION_STATE_DIR=str(root / "state"),
    )
    return env, key, model


def _lua(path: Path, key: str | None) -> Path:
    body = json.dumps({"input": ROW})
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = '{body}'",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    if key:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {key}"')
    path.write_text("\n".join(lines) + "\n")
    return path


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, Any]:
    """One wrk run: requests/s, p50 and p99 in ms, non-2xx count."""
    out = subprocess.run(
        [
            *_pin(1),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(pct["50"]),
        "p99_ms": _ms(pct["99"]),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


def pipeline_cost(env: dict[str, str], iterations: int) -> dict[str, float]:
    """CPU µs per request of the guard pipeline, the audit submit and the ONNX run."""
    from starlette.datastructures import Headers

    from bastion.audit.events import Outcome
    from bastion.config import load_settings
    from bastion.gateway.app import build_gateway
    from bastion.gateway.config import load_config
    from bastion.gateway.guards.auth import authenticate
    from bastion.gateway.guards.base import Call
    from bastion.workspace import open_workspace

    settings = load_settings(environ=env)
    ws = open_workspace(settings)
    gw = build_gateway(ws, load_config(settings.bastion_dir), auth_cache_s=60.0)
    gw.table.refresh()
    served = gw.table.get("churn")
    key = env["BENCH_KEY"]
    headers = Headers({"authorization": f"Bearer {key}", "content-type": "application/json"})

    async def run() -> dict[str, float]:
        def call() -> Call:
            return Call("churn", "0" * 32, "127.0.0.1", headers, [dict(ROW)])

        async def guards_only(c: Call) -> None:
            await authenticate(gw.shared.credentials, c)
            c.served = served
            for g in served.guards:
                await g.before(c)
            c.outputs = served.predict(c.matrix)
            for g in reversed(served.guards):
                await g.after(c)

        warm = call()
        await guards_only(warm)
        matrix = warm.matrix
        figures: dict[str, float] = {}
        start = time.process_time()
        for _ in range(iterations):
            await guards_only(call())
        with_model = (time.process_time() - start) / iterations * 1e6
        start = time.process_time()
        for _ in range(iterations):
            served.predict(matrix)
        onnx = (time.process_time() - start) / iterations * 1e6
        figures["pipeline_with_onnx_us"] = with_model
        figures["onnx_run_us"] = onnx
        figures["guard_pipeline_us"] = with_model - onnx
        start = time.process_time()
        for _ in range(iterations):
            await gw.auditor.record(
                actor="bench",
                action="gateway.predict",
                resource="model/churn@1",
                outcome=Outcome.SUCCESS,
                source="127.0.0.1",
                request_id="0" * 32,
                details={"rows": 1, "status": 200},
            )
        gw.auditor.drain()
        ws.audit.flush()
        figures["audit_submit_and_commit_us"] = (time.process_time() - start) / iterations * 1e6
        return figures

    try:
        return asyncio.run(run())
    finally:
        ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--tls", action="store_true", help="both apps on HTTPS")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt install wrk)")
    root = Path(tempfile.mkdtemp(prefix="bastion-gwbench-"))
    try:
        env, key, model = workspace(root)
        env["BENCH_KEY"] = key
        tls_dir = Path(env["BASTION_WORKSPACE"]) / ".bastion" / "tls"
        scheme = "https" if args.tls else "http"
        bport, gport = _port(), _port()
        bare_cmd = [
            *_pin(0),
            str(BIN / "python"),
            "-m",
            "uvicorn",
            "gateway_bare_app:app",
            "--port",
            str(bport),
            "--workers",
            str(args.workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        if args.tls:
            bare_cmd += [
                "--ssl-certfile",
                str(tls_dir / "server.crt"),
                "--ssl-keyfile",
                str(tls_dir / "server.key"),
            ]
        gw_cmd = [
            *_pin(0),
            str(BIN / "bastion"),
            "serve",
            "--port",
            str(gport),
            "--workers",
            str(args.workers),
            "--auth-cache",
            "5",
        ] + ([] if args.tls else ["--insecure-http"])
        bare = subprocess.Popen(
            bare_cmd,
            cwd=ROOT,
            env={**env, "BARE_MODEL_PATH": str(model)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        gw = subprocess.Popen(gw_cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(bport, bare)
            _wait(gport, gw)
            time.sleep(1.0)
            bare_url = f"{scheme}://127.0.0.1:{bport}/v1/models/churn/predict"
            gw_url = f"{scheme}://127.0.0.1:{gport}/v1/models/churn/predict"
            bare_lua = _lua(root / "bare.lua", None)
            gw_lua = _lua(root / "gw.lua", key)
            results: dict[str, Any] = {}
            for c in (int(x) for x in args.concurrency.split(",")):
                wrk(bare_url, bare_lua, c, args.warmup)
                wrk(gw_url, gw_lua, c, args.warmup)
                b = wrk(bare_url, bare_lua, c, args.seconds)
                g = wrk(gw_url, gw_lua, c, args.seconds)
                results[f"c{c}"] = {
                    "bare": b,
                    "bastion": g,
                    "throughput_ratio": round(g["rps"] / b["rps"], 3),
                    "p50_added_ms": round(g["p50_ms"] - b["p50_ms"], 3),
                    "p99_added_ms": round(g["p99_ms"] - b["p99_ms"], 3),
                }
        finally:
            for proc in (bare, gw):
                proc.terminate()
                proc.wait(timeout=30)
        cost = pipeline_cost(env, args.iterations)
        c16 = results.get("c16")
        doc = {
            "benchmark": "gateway",
            "scheme": scheme,
            "workers": args.workers,
            "seconds_per_run": args.seconds,
            "results": results,
            "in_process_cpu": {k: round(v, 1) for k, v in cost.items()},
            "goals": {
                "throughput_ratio_c16_at_least_0.70": c16["throughput_ratio"] >= 0.70
                if c16
                else None,
                "p50_added_c16_at_most_2ms": c16["p50_added_ms"] <= 2.0 if c16 else None,
                "guard_pipeline_under_150us": cost["guard_pipeline_us"] < 150,
            },
        }
        print(json.dumps(doc, indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
