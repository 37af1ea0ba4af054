"""Throughput and latency of nova-users' hottest routes, against a real ``nova-users serve``.

    .venv/bin/python services/users/bench/bench_users.py [--duration 5] [--concurrency 16]

Starts (all on 127.0.0.1): PostgreSQL and Redis (embedded, in a temporary directory, unless
``NOVA_BENCH_DATABASE_URL`` / ``NOVA_BENCH_REDIS_URL`` name servers to use; the ``users`` schema
of that database is migrated and written to), a JWKS endpoint with a fresh Ed25519 key, and
``nova-users serve``. Then it measures ``GET /api/users/me`` (read) and ``PATCH /api/users/me``
(write) with ``--concurrency`` clients for ``--duration`` seconds each, and prints requests per
second, p50 and p99 (``--json`` for a machine-readable line). Every phase is bounded in time and
in request count; everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from nova_kit.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from nova_kit.testing.tokens import TokenFactory

BIN = Path(sys.executable).parent
MAX_REQUESTS_PER_PHASE = 500_000


@dataclass
class PhaseResult:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        count = len(ordered)

        def percentile(fraction: float) -> float:
            if not ordered:
                return float("nan")
            return ordered[min(count - 1, int(fraction * count))] * 1000

        return {
            "phase": self.name,
            "requests": count,
            "errors": self.errors,
            "rps": round(count / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(percentile(0.50), 2),
            "p99_ms": round(percentile(0.99), 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else float("nan"),
        }


@contextlib.contextmanager
def jwks_server(factory: TokenFactory) -> Iterator[str]:
    document = json.dumps(factory.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def backends(workdir: Path) -> Iterator[tuple[str, str]]:
    database_url = os.environ.get("NOVA_BENCH_DATABASE_URL")
    redis_url = os.environ.get("NOVA_BENCH_REDIS_URL")
    postgres = redis = None
    try:
        if database_url is None:
            postgres = EmbeddedPostgres(workdir / "postgres")
            postgres.start()
            database_url = postgres.url
        if redis_url is None:
            redis = EmbeddedRedis(workdir / "redis", persist=False)
            redis.start()
            redis_url = redis.url
        yield database_url, redis_url
    finally:
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()


@contextlib.contextmanager
def users_service(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    migrate = subprocess.run(  # noqa: S603 - our own console script
        [str(BIN / "nova-users"), "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if migrate.returncode != 0:
        raise SystemExit(f"nova-users migrate failed:\n{migrate.stdout}{migrate.stderr}")
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [str(BIN / "nova-users"), "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"nova-users exited early:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/ready", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"nova-users not ready after 30 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield base_url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


async def run_phase(
    name: str,
    client: httpx.AsyncClient,
    tokens: list[str],
    *,
    concurrency: int,
    duration: float,
    write: bool,
) -> PhaseResult:
    result = PhaseResult(name)
    deadline = time.perf_counter() + duration
    issued = 0

    async def worker(seed: int) -> None:
        nonlocal issued
        pick = random.Random(seed)  # noqa: S311 - load generation, not security
        while time.perf_counter() < deadline and issued < MAX_REQUESTS_PER_PHASE:
            issued += 1
            headers = {"Authorization": f"Bearer {pick.choice(tokens)}"}
            started = time.perf_counter()
            if write:
                response = await client.patch(
                    "/api/users/me", json={"bio": f"bench {issued}"}, headers=headers
                )
            else:
                response = await client.get("/api/users/me", headers=headers)
            if response.status_code == 200:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(index) for index in range(concurrency)))
    result.elapsed = time.perf_counter() - began
    return result


async def measure(base_url: str, tokens: list[str], args: argparse.Namespace) -> list[PhaseResult]:
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10) as client:
        for token in tokens:  # creates every profile (the first-read upsert), warms the pools
            response = await client.get(
                "/api/users/me", headers={"Authorization": f"Bearer {token}"}
            )
            response.raise_for_status()
        await run_phase(
            "warmup", client, tokens, concurrency=args.concurrency, duration=1.0, write=False
        )
        read = await run_phase(
            "read GET /api/users/me",
            client,
            tokens,
            concurrency=args.concurrency,
            duration=args.duration,
            write=False,
        )
        write = await run_phase(
            "write PATCH /api/users/me",
            client,
            tokens,
            concurrency=args.concurrency,
            duration=args.duration,
            write=True,
        )
    return [read, write]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase (max 60)")
    parser.add_argument("--concurrency", type=int, default=16, help="parallel clients (max 128)")
    parser.add_argument("--users", type=int, default=50, help="distinct users (max 1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    args.duration = min(max(args.duration, 0.5), 60.0)
    args.concurrency = min(max(args.concurrency, 1), 128)
    args.users = min(max(args.users, 1), 1000)

    factory = TokenFactory()
    tokens = [factory.mint(str(uuid.uuid4()), lifetime=900) for _ in range(args.users)]
    with tempfile.TemporaryDirectory(prefix="nova-users-bench-") as tmp:
        workdir = Path(tmp)
        with backends(workdir) as (database_url, redis_url), jwks_server(factory) as jwks_url:
            env = {
                **os.environ,
                "NOVA_ENVIRONMENT": "test",
                "NOVA_USERS_DATABASE_URL": database_url,
                "NOVA_USERS_REDIS_URL": redis_url,
                "NOVA_USERS_JWKS_URL": jwks_url,
                "NOVA_USERS_LOG_LEVEL": "WARNING",
                "NOVA_USERS_DB_POOL_SIZE": str(min(args.concurrency, 20)),
            }
            with users_service(env, free_port(), workdir / "users.log") as base_url:
                results = asyncio.run(measure(base_url, tokens, args))

    summaries = [result.summary() for result in results]
    if args.json:
        print(
            json.dumps({"service": "users", "concurrency": args.concurrency, "results": summaries})
        )
    else:
        print(f"nova-users, {args.concurrency} clients, {args.duration:g} s per phase")
        for summary in summaries:
            print(
                f"  {summary['phase']:<28} {summary['rps']:>8} req/s   "
                f"p50 {summary['p50_ms']:>7} ms   p99 {summary['p99_ms']:>7} ms   "
                f"errors {summary['errors']}"
            )
    return 1 if any(summary["errors"] for summary in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
