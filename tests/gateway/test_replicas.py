"""Scale-out: two gateway processes (`bastion serve`, real OS processes) sharing one Redis
and one database hold a rate limit exactly, across both of them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bastion.identity import apikeys, principals
from tests.conftest import make_env
from tests.gateway.conftest import GOOD_ROW, deploy, free_port


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("gateway did not start") from None
            time.sleep(0.05)


@pytest.fixture
def replicas(
    tmp_path: Path, db_url: str | None, redis_url: str, churn_files: tuple[Path, Path]
) -> Iterator[tuple[list[str], str]]:
    env = make_env(tmp_path, db_url)
    try:
        dep = deploy(env, churn_files, tmp_path)
        principals.add_principal(env.ws, env.admin, "batch", "service", service_account=True)
        # No expiry: the replicas run on the wall clock, the fixture on a fixed one.
        key = apikeys.create_key(env.ws, env.admin, "batch", ttl=None).token
        del dep
    finally:
        env.ws.close()
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[defaults.rate_limit]\nper_key = ["20/minute"]\nper_address = ["1000/minute"]\n'
    )
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "XDG_STATE"))}
    child_env.update(
        BASTION_WORKSPACE=str(env.settings.workspace),
        BASTION_MASTER_KEY=env.settings.master_key.reveal(),  # type: ignore[union-attr]
        BASTION_REDIS_URL=redis_url,
        BASTION_STATE_DIR=str(tmp_path / "state"),
    )
    if db_url:
        child_env["BASTION_DATABASE_URL"] = db_url
    bastion = str(Path(sys.executable).parent / "bastion")
    procs: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for n in range(2):
            port = free_port()
            log = tmp_path / f"replica-{n}.log"
            with log.open("wb") as sink:  # the child keeps its own descriptor
                procs.append(
                    subprocess.Popen(
                        [
                            bastion,
                            "serve",
                            "--insecure-http",
                            "--port",
                            str(port),
                            "--config",
                            str(config),
                            "--auth-cache",
                            "0",
                        ],
                        env=child_env,
                        stdout=subprocess.DEVNULL,
                        stderr=sink,
                    )
                )
            _wait_listening(port, procs[-1], log)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls, key
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def test_rate_limit_is_exact_across_two_replicas(replicas: tuple[list[str], str]) -> None:
    urls, key = replicas

    def call(i: int) -> int:
        with httpx.Client(base_url=urls[i % 2], headers={"X-API-Key": key}) as client:
            return client.post("/v1/models/churn/predict", json={"input": GOOD_ROW}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, range(50)))
    assert statuses.count(200) == 20, statuses
    assert statuses.count(429) == 30
    # Each replica answered some of the 20: the allowance really was shared.
    with httpx.Client(headers={"X-API-Key": key}) as client:
        for url in urls:
            refused = client.post(f"{url}/v1/models/churn/predict", json={"input": GOOD_ROW})
            assert refused.status_code == 429
