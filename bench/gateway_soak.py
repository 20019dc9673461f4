"""A soak of the inference gateway: a fixed request rate for N minutes, open loop (requests
leave on a timetable, not when the previous answer arrives), sampling the server's
resident memory every few seconds.

    .venv/bin/python bench/gateway_soak.py [--minutes 10] [--rate 300] [--warmup-minutes 2]

Reports the RSS where it settled after warm-up, at the end, the relative change (the goal:
within 5%), the maximum, and the requests sent, answered and failed. Every request passes
every guard and is audited (SQLite, group commit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_bench import BIN, ROW, _pin, _port, _wait, workspace


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def _drive(
    url: str, key: str, rate: float, seconds: float, pid: int, every: float, workers: int = 16
) -> dict[str, Any]:
    """``workers`` connections, each sending on its own fixed timetable (rate/workers per
    second), so the offered rate stays fixed whatever the latency (up to the workers)."""
    import httpx

    counts = {"sent": 0, "ok": 0, "failed": 0, "late": 0}
    samples: list[tuple[float, int]] = []
    start = time.monotonic()
    interval = workers / rate

    async def worker(offset: float) -> None:
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            due = start + offset
            while due - start < seconds:
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -interval:
                    counts["late"] += 1
                counts["sent"] += 1
                try:
                    response = await client.post(url, json={"input": ROW})
                    counts["ok" if response.status_code == 200 else "failed"] += 1
                except httpx.HTTPError:
                    counts["failed"] += 1
                due += interval

    async def sampler() -> None:
        while time.monotonic() - start < seconds:
            samples.append((round(time.monotonic() - start, 1), _rss_kib(pid)))
            await asyncio.sleep(every)
        samples.append((round(time.monotonic() - start, 1), _rss_kib(pid)))

    await asyncio.gather(sampler(), *(worker(i * interval / workers) for i in range(workers)))
    return {**counts, "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup-minutes", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--sample-every", type=float, default=5.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bastion-soak-"))
    try:
        env, key, _model = workspace(root)
        port = _port()
        server = subprocess.Popen(
            [*_pin(0), str(BIN / "bastion"), "serve", "--insecure-http", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port, server)
            run = asyncio.run(
                _drive(
                    f"http://127.0.0.1:{port}/v1/models/churn/predict",
                    key,
                    args.rate,
                    args.minutes * 60,
                    server.pid,
                    args.sample_every,
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        samples = run.pop("samples")
        settled = [kib for t, kib in samples if t >= args.warmup_minutes * 60]
        base, end = settled[0], settled[-1]
        print(
            json.dumps(
                {
                    "benchmark": "gateway_soak",
                    "minutes": args.minutes,
                    "rate_per_s": args.rate,
                    **run,
                    "rss_after_warmup_mib": round(base / 1024, 1),
                    "rss_end_mib": round(end / 1024, 1),
                    "rss_max_mib": round(max(k for _, k in samples) / 1024, 1),
                    "rss_change_pct": round((end - base) / base * 100, 2),
                    "goal_within_5pct": abs(end - base) / base <= 0.05,
                    "samples_mib": [(t, round(k / 1024, 1)) for t, k in samples],
                },
                indent=1,
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
