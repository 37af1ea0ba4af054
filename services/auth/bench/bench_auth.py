"""Benchmark of nova-auth: login and refresh throughput and latency, token verification cost.

    python services/auth/bench/bench_auth.py [--logins 200] [--refreshes 1000] [--concurrency 8]

Starts its own ``nova-auth serve`` on a free loopback port against PostgreSQL and Redis from
``NOVA_BENCH_DATABASE_URL``/``NOVA_TEST_DATABASE_URL`` and ``NOVA_BENCH_REDIS_URL``/
``NOVA_TEST_REDIS_URL`` (a ``nova_bench_test`` database is created on that server), or from
embedded servers it starts in a temporary directory. Every phase is bounded in count and time.
Passwords are hashed with the OWASP minimum Argon2id parameters (m=19456 KiB, t=2, p=1).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from nova_kit.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from nova_kit.redis import create_redis
from nova_kit.testing.backends import ensure_test_database_name, with_database
from nova_kit.tokens import RevocationList, StaticKeySource, TokenVerifier

DATABASE = ensure_test_database_name("nova_bench_test")
PASSWORD = "bench password for nova"  # noqa: S105 - the benchmark users' password
NOVA_AUTH = str(Path(sys.executable).parent / "nova-auth")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def recreate_database(admin_url: str) -> str:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()
    return with_database(admin_url, DATABASE)


async def run_phase(
    name: str,
    total: int,
    concurrency: int,
    deadline_seconds: float,
    call: Callable[[int, int], Awaitable[None]],
) -> dict[str, Any]:
    """``total`` calls over ``concurrency`` workers (worker id, call index); latencies in ms."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    stop_at = time.monotonic() + deadline_seconds

    async def worker(worker_id: int) -> None:
        nonlocal errors
        for index in counter:
            if time.monotonic() > stop_at:
                return
            started = time.perf_counter()
            try:
                await call(worker_id, index)
            except Exception:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "phase": name,
        "requests": len(latencies),
        "errors": errors,
        "concurrency": concurrency,
        "throughput": len(latencies) / elapsed if elapsed else 0.0,
        "p50": percentile(latencies, 0.50) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
    }


async def measure_verification(
    base_url: str, redis_url: str, token: str, rounds: int
) -> dict[str, float]:
    async with httpx.AsyncClient() as client:
        jwks = (await client.get(f"{base_url}/.well-known/jwks.json")).json()
    source = StaticKeySource(jwks)
    plain = TokenVerifier(source, issuer="nova-auth", audience="nova")
    redis = create_redis(redis_url)
    with_revocations = TokenVerifier(
        source, issuer="nova-auth", audience="nova", revocations=RevocationList(redis)
    )
    try:
        results: dict[str, float] = {}
        for label, verifier in (
            ("signature+claims", plain),
            ("+ revocation check", with_revocations),
        ):
            for _ in range(50):  # warm up
                await verifier.verify(token)
            started = time.perf_counter()
            for _ in range(rounds):
                await verifier.verify(token)
            results[label] = (time.perf_counter() - started) / rounds * 1e6
        return results
    finally:
        await redis.aclose()


@contextmanager
def auth_server(database_url: str, redis_url: str) -> Iterator[str]:
    """Migrate, then run ``nova-auth serve`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "NOVA_ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "NOVA_AUTH_LOG_LEVEL": "WARNING",
        "NOVA_AUTH_LOGIN_LIMIT_PER_ACCOUNT": "1000000",
        "NOVA_AUTH_LOGIN_LIMIT_PER_CLIENT": "1000000",
        "NOVA_AUTH_REGISTER_LIMIT_PER_CLIENT": "1000000",
        "NOVA_AUTH_DB_POOL_SIZE": "20",
    }
    migrate = subprocess.run(  # noqa: S603 - our own console script
        [NOVA_AUTH, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if migrate.returncode != 0:
        raise SystemExit(f"migrate failed: {migrate.stderr}")
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(  # noqa: S603 - our own console script
            [NOVA_AUTH, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if server.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"nova-auth exited:\n{log.read().decode(errors='replace')}")
                try:
                    if httpx.get(f"{base_url}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            else:
                raise SystemExit("nova-auth did not become ready")
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()


async def bench(args: argparse.Namespace, base_url: str, redis_url: str) -> None:
    async with httpx.AsyncClient(
        base_url=base_url,
        timeout=30,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
    ) as client:
        users = [f"bench{i}@example.com" for i in range(args.users)]
        refresh_tokens: dict[int, str] = {}
        access_token = ""

        async def register(_: int, index: int) -> None:
            response = await client.post(
                "/api/auth/register", json={"email": users[index], "password": PASSWORD}
            )
            response.raise_for_status()

        async def login(_: int, index: int) -> None:
            nonlocal access_token
            response = await client.post(
                "/api/auth/login", json={"email": users[index % len(users)], "password": PASSWORD}
            )
            response.raise_for_status()
            body = response.json()
            access_token = body["access_token"]
            refresh_tokens.setdefault(index % args.concurrency_refresh, body["refresh_token"])

        async def refresh(worker_id: int, _: int) -> None:
            response = await client.post(
                "/api/auth/refresh", json={"refresh_token": refresh_tokens[worker_id]}
            )
            response.raise_for_status()
            refresh_tokens[worker_id] = response.json()["refresh_token"]

        async def health(_: int, __: int) -> None:
            (await client.get("/health")).raise_for_status()

        async def me(_: int, __: int) -> None:
            response = await client.get(
                "/api/auth/me", headers={"Authorization": f"Bearer {access_token}"}
            )
            response.raise_for_status()

        # While logins saturate the hash pool, a prober checks the event loop stays responsive.
        probe_ms: list[float] = []
        probing = asyncio.Event()

        async def probe() -> None:
            while not probing.is_set():
                started = time.perf_counter()
                (await client.get("/health")).raise_for_status()
                probe_ms.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.05)

        registered = await run_phase("register", len(users), args.concurrency, 120, register)
        prober = asyncio.create_task(probe())
        logins = await run_phase("login", args.logins, args.concurrency, 120, login)
        probing.set()
        await prober
        rows = [
            registered,
            logins,
            {
                "phase": "/health*",
                "requests": len(probe_ms),
                "errors": 0,
                "concurrency": 1,
                "throughput": float("nan"),
                "p50": percentile(probe_ms, 0.5),
                "p99": percentile(probe_ms, 0.99),
            },
            await run_phase("refresh", args.refreshes, args.concurrency_refresh, 120, refresh),
            await run_phase("GET /me", args.refreshes, args.concurrency_refresh, 60, me),
            # the floor: the same client and server doing no work at all
            await run_phase("GET /health", args.refreshes, args.concurrency_refresh, 60, health),
        ]
    verification = await measure_verification(base_url, redis_url, access_token, args.verifications)
    report(rows, verification, args.verifications)


def report(rows: list[dict[str, Any]], verification: dict[str, float], rounds: int) -> None:
    print(f"\nnova-auth on {os.cpu_count()} CPUs (Argon2id m=19456 KiB t=2 p=1, 2 hash threads)\n")
    header = ("phase", "requests", "errors", "conc.", "req/s", "p50 ms", "p99 ms")
    print("{:<11} {:>8} {:>6} {:>5} {:>8} {:>8} {:>8}".format(*header))
    for row in rows:
        rate = "-" if math.isnan(row["throughput"]) else f"{row['throughput']:.1f}"
        print(
            f"{row['phase']:<11} {row['requests']:>8} {row['errors']:>6} {row['concurrency']:>5} "
            f"{rate:>8} {row['p50']:>8.1f} {row['p99']:>8.1f}"
        )
    print("* /health probed every 50 ms during the login phase: the event loop stays free")
    print("\naccess-token verification per request (in-process, EdDSA):")
    for label, micros in verification.items():
        print(f"  {label:<20} {micros:>8.1f} µs")
    print(f"  (mean over {rounds} calls after a warm-up)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--refreshes", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8, help="for register and login")
    parser.add_argument("--concurrency-refresh", type=int, default=16)
    parser.add_argument("--verifications", type=int, default=2000)
    args = parser.parse_args()

    with ExitStack() as stack:
        database_admin = os.environ.get("NOVA_BENCH_DATABASE_URL") or os.environ.get(
            "NOVA_TEST_DATABASE_URL"
        )
        redis_url = os.environ.get("NOVA_BENCH_REDIS_URL") or os.environ.get("NOVA_TEST_REDIS_URL")
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nova-auth-bench-")))
        if not database_admin:
            postgres = EmbeddedPostgres(workdir / "postgres")
            postgres.start()
            stack.callback(postgres.stop)
            database_admin = postgres.url
        if not redis_url:
            redis = EmbeddedRedis(workdir / "redis", persist=False)
            redis.start()
            stack.callback(redis.stop)
            redis_url = redis.url
        database_url = asyncio.run(recreate_database(database_admin))
        with auth_server(database_url, redis_url) as base_url:
            asyncio.run(bench(args, base_url, redis_url))


if __name__ == "__main__":
    main()
