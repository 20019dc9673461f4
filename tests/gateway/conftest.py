"""Gateway fixtures: a real workspace with the churn model in production, served by a
real uvicorn server (TLS 1.3 by default) on a free port in a background thread, and
httpx clients that talk to it over the network.

The model is the demo's: a scikit-learn pipeline trained on generated customers and
exported to ONNX, registered with its training data so that the input schema is real.
"""

from __future__ import annotations

import random
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher

from bastion.context import Context
from bastion.crypto.tls import client_context
from bastion.demo_supply_chain import train_onnx
from bastion.gateway.app import build_gateway, create_app
from bastion.gateway.config import parse_config
from bastion.gateway.server import ServeOptions, uvicorn_config
from bastion.identity import apikeys, credentials, principals
from bastion.models import registry
from tests.conftest import Env, make_env

FEATURES = ("age", "tenure_months", "monthly_charges")
GOOD_ROW = {"age": 40, "tenure_months": 12, "monthly_charges": 70.5}


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at minimum cost: passwords are not under test here."""
    monkeypatch.setattr(
        credentials, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def write_customers(path: Path, rows: int, seed: int = 7) -> Path:
    """Generated training data: age 18-90, tenure 0-120 months, charges 10-150."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("age,tenure_months,monthly_charges,churned\n")
        for _ in range(rows):
            handle.write(
                f"{rng.randint(18, 90)},{rng.randint(0, 120)},"
                f"{rng.uniform(10, 150):.2f},{int(rng.random() < 0.27)}\n"
            )
    return path


@pytest.fixture(scope="session")
def churn_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(training CSV, ONNX model), built once per test session."""
    root = tmp_path_factory.mktemp("churn")
    csv_path = write_customers(root / "customers.csv", 3000)
    model = root / "churn.onnx"
    train_onnx(csv_path, model, c=1.0)
    return csv_path, model


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    """A workspace with the churn model in production and keys for its callers."""

    env: Env
    engineer: Context
    keys: dict[str, str] = field(default_factory=dict)
    root: Path = Path()

    @property
    def ws(self) -> Any:
        return self.env.ws

    def service(self, name: str, *, role: str = "service", scopes: list[str] | None = None) -> str:
        """A service account with one API key; returns the key."""
        principals.add_principal(self.ws, self.env.admin, name, role, service_account=True)
        key = apikeys.create_key(self.ws, self.env.admin, name, scopes=scopes)
        self.env.secrets_seen.append(key.token)
        self.keys[name] = key.token
        return key.token


def deploy(env: Env, churn_files: tuple[Path, Path], root: Path) -> Deployment:
    """Register the churn model with its training data and promote it."""
    csv_path, model = churn_files
    engineer = env.user("erin", "engineer")
    registry.register(env.ws, engineer, model, "churn", training_data=csv_path, target="churned")
    registry.promote(env.ws, engineer, "churn", 1, reason="tests")
    dep = Deployment(env, engineer, root=root)
    dep.service("scorer")
    return dep


@pytest.fixture
def deployment(tmp_path: Path, churn_files: tuple[Path, Path]) -> Iterator[Deployment]:
    """The churn model in production on SQLite, with the `scorer` service key."""
    env = make_env(tmp_path, None)
    try:
        yield deploy(env, churn_files, tmp_path)
    finally:
        env.ws.close()


@dataclass
class Running:
    """A gateway being served; ``client()`` talks to it over real HTTP(S)."""

    url: str
    deployment: Deployment
    gateway: Any
    ca: Path | None
    gateway_app: Any = None

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        verify: ssl.SSLContext | bool = client_context(self.ca) if self.ca else False
        return httpx.Client(base_url=self.url, headers=headers, verify=verify, **kwargs)

    def predict(self, body: Any, key: str | None = None, model: str = "churn") -> httpx.Response:
        key = key if key is not None else self.deployment.keys["scorer"]
        with self.client(key) as client:
            return client.post(f"/v1/models/{model}/predict", json=body)


@dataclass
class _Thread:
    server: uvicorn.Server
    thread: threading.Thread


def start_server(app: Any, config: Any, opts: ServeOptions) -> _Thread:
    """Run uvicorn in a daemon thread until it accepts connections."""
    server = uvicorn.Server(uvicorn_config(app, config, opts))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.01)
    return _Thread(server, thread)


@pytest.fixture
def serve(deployment: Deployment) -> Iterator[Callable[..., Running]]:
    """Start the gateway with a gateway.toml document (dict); stopped after the test."""
    started: list[_Thread] = []

    def run(
        doc: dict[str, Any] | None = None,
        *,
        tls: bool = True,
        auth_cache_s: float = 0.0,
        redis_url: str | None = None,
    ) -> Running:
        ws = deployment.ws
        config = parse_config(doc or {}, bastion_dir=deployment.env.settings.bastion_dir)
        gw = build_gateway(ws, config, redis_url=redis_url, auth_cache_s=auth_cache_s, tls=tls)
        port = free_port()
        opts = ServeOptions(port=port, insecure_http=not tls)
        app = create_app(gw)
        started.append(start_server(app, config, opts))
        scheme = "https" if tls else "http"
        return Running(
            f"{scheme}://127.0.0.1:{port}", deployment, gw, config.tls.cert if tls else None, app
        )

    yield run
    for item in started:
        item.server.should_exit = True
        item.thread.join(timeout=15)


def redis_server_binary() -> str | None:
    """The redis-server binary, if installed (.ci/run installs it)."""
    return shutil.which("redis-server")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real Redis server of this test's own, on a free port; no persistence."""
    import os

    binary = redis_server_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (CI must install it)")
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
