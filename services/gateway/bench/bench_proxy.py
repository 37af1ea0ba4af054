"""REST proxy overhead: the same requests straight to an upstream and through ``nova-gateway``.

    python services/gateway/bench/bench_proxy.py [--duration 5] [--concurrency 16] [--json]

Starts, on free loopback ports, a small upstream (uvicorn, a fixed 1 KiB JSON answer) and a real
``nova-gateway serve`` routing ``/api/bench`` to it, then runs the same closed-loop load against
each for ``--duration`` seconds and reports requests per second, p50/p99 and the gateway's
overhead. Bounded in time and count, loopback only. Redis comes from ``NOVA_BENCH_REDIS_URL`` /
``NOVA_TEST_REDIS_URL`` or an embedded server (rate limits stay on, as in production).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from nova_kit.embedded import EmbeddedRedis, free_port
from nova_kit.testing.processes import ServiceProcess

ROOT = Path(__file__).resolve().parents[3]
SUPERGRAPH = ROOT / "services" / "gateway" / "tests" / "fixtures" / "supergraph.graphql"
BODY = json.dumps({"id": "42", "padding": "x" * 1000}).encode()
MAX_REQUESTS = 200_000


async def upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def serve_upstream(port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        upstream, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the upstream did not start")
        time.sleep(0.02)
    return server


async def load(url: str, duration: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}
    deadline = time.monotonic() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline and len(latencies) < MAX_REQUESTS:
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                    outcome = str(response.status_code)
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                ok = outcome == "200"
                statuses[outcome] = statuses.get(outcome, 0) + 1
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    count = len(latencies)
    if errors:
        print(f"non-200 answers from {url}: {statuses}", file=sys.stderr)
    return {
        "requests": count,
        "errors": errors,
        "rps": count / duration,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(count - 1, int(count * 0.99))] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase (max 60)")
    parser.add_argument("--concurrency", type=int, default=16, help="parallel clients (max 256)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    duration = min(max(args.duration, 1.0), 60.0)
    concurrency = min(max(args.concurrency, 1), 256)

    redis_url = os.environ.get("NOVA_BENCH_REDIS_URL") or os.environ.get("NOVA_TEST_REDIS_URL")
    workdir = Path(tempfile.mkdtemp(prefix="nova-bench-proxy-"))
    embedded = None
    if not redis_url:
        embedded = EmbeddedRedis(workdir / "redis", persist=False)
        embedded.start()
        redis_url = embedded.url
    upstream_port, gateway_port = free_port(), free_port()
    server = serve_upstream(upstream_port)
    gateway = ServiceProcess(
        "gateway",
        [str(Path(sys.executable).parent / "nova-gateway"), "serve"],
        {
            "NOVA_ENVIRONMENT": "test",
            "NOVA_GATEWAY_PORT": str(gateway_port),
            "NOVA_GATEWAY_REDIS_URL": redis_url,
            "NOVA_GATEWAY_SUPERGRAPH": str(SUPERGRAPH),
            "NOVA_GATEWAY_SUPERGRAPH_POLL_SECONDS": "0",
            "NOVA_GATEWAY_ROUTES": json.dumps({"/api/bench": f"http://127.0.0.1:{upstream_port}"}),
            "NOVA_GATEWAY_ANONYMOUS_ROUTES": '["GET /api/bench/*"]',
            "NOVA_GATEWAY_RATE_LIMIT_PER_CLIENT": str(MAX_REQUESTS * 2),
            "NOVA_GATEWAY_LOG_LEVEL": "WARNING",
        },
        workdir / "gateway.log",
        f"http://127.0.0.1:{gateway_port}",
    )
    try:
        gateway.start().wait_until_ready(timeout=60)
        path = "/api/bench/items"
        asyncio.run(load(f"http://127.0.0.1:{upstream_port}{path}", 1.0, concurrency))  # warm-up
        direct = asyncio.run(load(f"http://127.0.0.1:{upstream_port}{path}", duration, concurrency))
        proxied = asyncio.run(load(f"{gateway.base_url}{path}", duration, concurrency))
    finally:
        gateway.stop()
        server.should_exit = True
        if embedded is not None:
            embedded.stop()
    figures = {
        "direct": direct,
        "through_gateway": proxied,
        "overhead_p50_ms": proxied["p50_ms"] - direct["p50_ms"],
        "overhead_p99_ms": proxied["p99_ms"] - direct["p99_ms"],
        "throughput_ratio": proxied["rps"] / direct["rps"] if direct["rps"] else 0.0,
        "concurrency": concurrency,
        "duration_seconds": duration,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"REST proxy overhead ({concurrency} clients, {duration:g}s per phase, loopback)")
    print(f"{'path':<18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, row in (("direct", direct), ("through gateway", proxied)):
        print(
            f"{name:<18}{row['rps']:>10.0f}{row['p50_ms']:>10.2f}"
            f"{row['p99_ms']:>10.2f}{row['errors']:>8.0f}"
        )
    print(
        f"overhead: p50 {figures['overhead_p50_ms']:+.2f} ms, p99 {figures['overhead_p99_ms']:+.2f}"
        f" ms, throughput x{figures['throughput_ratio']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
