"""Benchmark of nova-auth: login and refresh throughput and latency, token verification cost.

    python services/auth/bench/bench_auth.py [--duration 10] [--users 20] [--concurrency 8]
        [--concurrency-refresh 16] [--summary headlines.json]

Starts its own ``nova-auth serve`` on a free loopback port against PostgreSQL and Redis from
``NOVA_BENCH_DATABASE_URL``/``NOVA_TEST_DATABASE_URL`` and ``NOVA_BENCH_REDIS_URL``/
``NOVA_TEST_REDIS_URL`` (a ``nova_bench_test`` database is created on that server), or from
embedded servers it starts in a temporary directory. Passwords are hashed with the OWASP minimum
Argon2id parameters (m=19456 KiB, t=2, p=1).

The HTTP load is ``wrk`` (``scripts/loadgen.py``), each phase ``--duration`` seconds:

- login: ``--concurrency`` connections rotating over ``--users`` accounts registered first
  (the registration is setup, sent by a small bounded Python client); while it runs, a second
  ``wrk`` probes ``/health`` every 50 ms to show the event loop stays free;
- refresh: ``--concurrency-refresh`` connections, each a chain of rotations (every response's
  new refresh token is the next request's, so no token is ever presented twice);
- ``GET /api/auth/me`` with Bearer tokens, and ``GET /health``, the floor.

Token verification is measured in-process (``TokenVerifier``, no HTTP), the one part that is
not load: a Python loop calling it is the measurement. Each phase reports req/s, p50/p99,
errors, and the server's CPU per request and peak RSS (its process tree, sampled).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher, Type

from nova_auth.config import AuthSettings
from nova_kit.embedded import free_port
from nova_kit.redis import create_redis
from nova_kit.testing.backends import ensure_test_database_name
from nova_kit.tokens import RevocationList, StaticKeySource, TokenVerifier

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
import benchstack
import loadgen

DATABASE = ensure_test_database_name("nova_bench_test")
PASSWORD = "bench password for nova"  # noqa: S105 - the benchmark users' password
NOVA_AUTH = str(Path(sys.executable).parent / "nova-auth")
JSON = {"Content-Type": "application/json"}
NEXT_REFRESH = '"refresh_token"%s*:%s*"([^"]+)"'  # Lua pattern
ISSUER, AUDIENCE = "nova-auth", "nova"
FULL = "+ revocation check"
CACHED = "verified before in this process, + revocation check"


def raw_hash_rate(seconds: float) -> tuple[float, AuthSettings]:
    """Argon2id verifications per second with auth's parameters on its number of hash threads:
    the ceiling of the login rate (a sign-in is one verification)."""
    settings = AuthSettings()
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )
    encoded = hasher.hash(PASSWORD)
    deadline = time.monotonic() + seconds

    def verify_until_deadline() -> int:
        count = 0
        while time.monotonic() < deadline:
            hasher.verify(encoded, PASSWORD)
            count += 1
        return count

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=settings.hash_workers) as pool:
        futures = [pool.submit(verify_until_deadline) for _ in range(settings.hash_workers)]
        total = sum(future.result() for future in futures)
    return total / (time.perf_counter() - started), settings


async def measure_verification(
    base_url: str, redis_url: str, token: str, rounds: int
) -> dict[str, float]:
    async with httpx.AsyncClient() as client:
        jwks = (await client.get(f"{base_url}/.well-known/jwks.json")).json()
    source = StaticKeySource(jwks)
    redis = create_redis(redis_url)
    # As the services run it: revocations followed in memory once subscribed (nova_kit.tokens).
    revocations = RevocationList(redis)
    revocations.start()
    for _ in range(500):
        if revocations.mirrored:
            break
        await asyncio.sleep(0.01)
    # cache_size=0: every call checks the signature (a token this process has not seen);
    # the default cache: the token was verified before, only its claims and revocation are checked
    checks = (
        ("signature+claims", TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, cache_size=0)),
        (
            FULL,
            TokenVerifier(
                source, issuer=ISSUER, audience=AUDIENCE, revocations=revocations, cache_size=0
            ),
        ),
        (CACHED, TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, revocations=revocations)),
    )
    try:
        results: dict[str, float] = {}
        for label, verifier in checks:
            for _ in range(50):  # warm up
                await verifier.verify(token)
            started = time.perf_counter()
            for _ in range(rounds):
                await verifier.verify(token)
            results[label] = (time.perf_counter() - started) / rounds * 1e6
        return results
    finally:
        await revocations.aclose()
        await redis.aclose()


@contextmanager
def auth_server(database_url: str, redis_url: str) -> Iterator[tuple[str, int]]:
    """Migrate, then run ``nova-auth serve`` on a free loopback port; yields (base URL, pid)."""
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
            yield base_url, server.pid
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()


async def sign_ins(
    base_url: str, users: list[str], count: int, concurrency: int
) -> list[dict[str, Any]]:
    """``count`` logins over the accounts (bounded Python client): the relay seeds."""
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def one(index: int) -> dict[str, Any]:
            async with semaphore:
                response = await client.post(
                    "/api/auth/login",
                    json={"email": users[index % len(users)], "password": PASSWORD},
                )
                response.raise_for_status()
                body: dict[str, Any] = response.json()
                return body

        return await asyncio.gather(*(one(i) for i in range(count)))


async def register(base_url: str, users: list[str], concurrency: int) -> float:
    semaphore = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def one(email: str) -> None:
            async with semaphore:
                response = await client.post(
                    "/api/auth/register", json={"email": email, "password": PASSWORD}
                )
                response.raise_for_status()

        await asyncio.gather(*(one(email) for email in users))
    return time.perf_counter() - started


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def thread_usage(pid: int) -> dict[int, tuple[float, float, float, int]]:
    """Per thread of ``pid``: (CPU s from schedstat, user s, system s, minor faults)."""
    threads: dict[int, tuple[float, float, float, int]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            run_ns = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on
        threads[int(tid)] = (
            run_ns / 1e9,
            int(fields[11]) / CLOCK_TICKS,
            int(fields[12]) / CLOCK_TICKS,
            int(fields[7]),
        )
    return threads


def split_by_thread(
    pid: int,
    before: dict[int, tuple[float, float, float, int]],
    after: dict[int, tuple[float, float, float, int]],
    requests: int,
) -> dict[str, float]:
    """Per request: the event loop's (the main thread's) CPU ms, user and system, and the other
    threads' (the hash pool, during logins), with their minor page faults."""
    figures = dict.fromkeys(
        ("loop_ms", "loop_user_ms", "loop_system_ms", "threads_ms", "threads_user_ms"), 0.0
    ) | {"threads_system_ms": 0.0, "threads_minor_faults": 0.0}
    if not requests:
        return figures
    for tid, (cpu, user, system, faults) in after.items():
        cpu0, user0, system0, faults0 = before.get(tid, (0.0, 0.0, 0.0, 0))
        prefix = "loop" if tid == pid else "threads"
        figures[f"{prefix}_ms"] += (cpu - cpu0) * 1e3 / requests
        figures[f"{prefix}_user_ms"] += (user - user0) * 1e3 / requests
        figures[f"{prefix}_system_ms"] += (system - system0) * 1e3 / requests
        if prefix == "threads":
            figures["threads_minor_faults"] += (faults - faults0) / requests
    return figures


def phase(
    name: str,
    base_url: str,
    pid: int,
    args: argparse.Namespace,
    connections: int,
    *,
    requests: list[loadgen.Request] | None = None,
    relay: loadgen.Relay | None = None,
) -> dict[str, Any]:
    threads = thread_usage(pid)
    with loadgen.UsageSampler(pid) as usage:
        load = loadgen.run_wrk(
            base_url,
            requests or (),
            relay=relay,
            duration=args.duration,
            connections=connections,
            timeout=args.timeout,
        )
    return {
        "phase": name,
        "load": load,
        "cpu_ms_per_request": usage.cpu_ms_per_request(load.requests),
        "usage": usage,
        "threads": split_by_thread(pid, threads, thread_usage(pid), load.requests),
    }


def bench(
    args: argparse.Namespace, base_url: str, pid: int, redis_url: str
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    users = [f"bench{i}@example.com" for i in range(args.users)]
    seconds = asyncio.run(register(base_url, users, args.concurrency))
    print(f"setup: {len(users)} accounts registered in {seconds:.1f} s (Python client)\n")
    # the ceiling of the login rate, measured before the load (not beside it)
    hash_rate, settings = raw_hash_rate(min(args.duration, 5.0))
    logins = [
        loadgen.Request(
            "POST",
            "/api/auth/login",
            json.dumps({"email": email, "password": PASSWORD}),
            JSON,
        )
        for email in users
    ]
    # While logins saturate the hash pool, a prober checks the event loop stays responsive.
    probe = loadgen.start_wrk(
        base_url,
        [loadgen.Request("GET", "/health")],
        duration=args.duration,
        connections=1,
        timeout=args.timeout,
        delay_ms=50,
    )
    rows = [phase("login", base_url, pid, args, args.concurrency, requests=logins)]
    probed = probe.result()
    rows.append({"phase": "/health*", "load": probed, "cpu_ms_per_request": None, "usage": None})

    seeds = asyncio.run(sign_ins(base_url, users, args.concurrency_refresh, args.concurrency))
    relay = loadgen.Relay(
        loadgen.Request("POST", "/api/auth/refresh", '{"refresh_token": "{relay}"}', JSON),
        seeds=[seed["refresh_token"] for seed in seeds],
        pattern=NEXT_REFRESH,
    )
    rows.append(phase("refresh", base_url, pid, args, args.concurrency_refresh, relay=relay))
    me = [
        loadgen.Request(
            "GET", "/api/auth/me", headers={"Authorization": f"Bearer {seed['access_token']}"}
        )
        for seed in seeds
    ]
    rows.append(phase("GET /me", base_url, pid, args, args.concurrency_refresh, requests=me))
    # the floor: the same load generator and server doing no work at all
    health = [loadgen.Request("GET", "/health")]
    rows.append(
        phase("GET /health", base_url, pid, args, args.concurrency_refresh, requests=health)
    )
    verification = asyncio.run(
        measure_verification(base_url, redis_url, seeds[0]["access_token"], args.verifications)
    )
    report(rows, verification, args, hash_rate, settings)
    return headlines(rows, verification), figures(rows, verification, hash_rate)


PHASE_METRICS = {"login": "login", "refresh": "refresh", "GET /me": "me", "GET /health": "health"}


def figures(
    rows: list[dict[str, Any]], verification: dict[str, float], hash_rate: float
) -> dict[str, float]:
    """The measured figures by name, for the table of targets."""
    metrics: dict[str, float] = {"auth.argon2.hashes_per_s": round(hash_rate, 1)}
    for row in rows:
        name = PHASE_METRICS.get(row["phase"])
        if name is None:
            continue
        load: loadgen.LoadResult = row["load"]
        metrics |= {
            f"auth.{name}.rps": load.requests_per_second,
            f"auth.{name}.cpu_ms": row["cpu_ms_per_request"],
            f"auth.{name}.p50_ms": load.p50_ms,
            f"auth.{name}.errors": load.errors,
        }
    metrics["auth.verify.full_us"] = round(verification[FULL], 1)
    metrics["auth.verify.cached_us"] = round(verification[CACHED], 1)
    return metrics


def report(
    rows: list[dict[str, Any]],
    verification: dict[str, float],
    args: argparse.Namespace,
    hash_rate: float,
    settings: AuthSettings,
) -> None:
    f = loadgen.fmt
    print(
        f"nova-auth on {os.cpu_count()} CPUs (Argon2id m={settings.argon2_memory_kib} KiB "
        f"t={settings.argon2_time_cost} p={settings.argon2_parallelism}, "
        f"{settings.hash_workers} hash threads); wrk, {args.duration:g} s per phase; CPU and RSS "
        "of the server's process tree\n"
    )
    login_row = next(row for row in rows if row["phase"] == "login")
    login = login_row["load"]
    print(
        f"raw Argon2id, same parameters, {settings.hash_workers} threads in this process: "
        f"{hash_rate:.1f} verifications/s; login reaches "
        f"{login.requests_per_second / hash_rate:.0%} of it"
    )
    split = login_row["threads"]
    print(
        f"login, CPU ms per login by thread of the server: event loop {split['loop_ms']:.2f} "
        f"(user {split['loop_user_ms']:.2f}, system {split['loop_system_ms']:.2f}); hash pool "
        f"and other threads {split['threads_ms']:.2f} (user {split['threads_user_ms']:.2f}, "
        f"system {split['threads_system_ms']:.2f}, {split['threads_minor_faults']:.1f} minor "
        "page faults)\n"
    )
    print(
        "| phase | conn. | requests | req/s | p50 ms | p99 ms | errors | CPU ms/req "
        "| RSS peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        load: loadgen.LoadResult = row["load"]
        usage: loadgen.Usage | None = row["usage"]
        rate = "-" if row["phase"].endswith("*") else f(load.requests_per_second)
        print(
            f"| {row['phase']} | {load.connections} | {load.requests} | {rate} | "
            f"{f(load.p50_ms, 2)} | {f(load.p99_ms, 2)} | {load.errors} | "
            f"{f(row['cpu_ms_per_request'], 2)} | {f(usage.peak_rss_mib if usage else None)} |"
        )
    print("\n\\* `/health` probed every 50 ms during the login phase: the event loop stays free")
    print(
        "\naccess-token verification per request (in-process, EdDSA, Python loop; the first two "
        "check the signature on every call):\n"
    )
    print("| check | µs per call |")
    print("|---|---:|")
    for label, micros in verification.items():
        print(f"| {label} | {micros:.1f} |")
    print(f"\n(mean over {args.verifications} calls after a warm-up)")


def headlines(rows: list[dict[str, Any]], verification: dict[str, float]) -> list[dict[str, Any]]:
    summary = []
    for row in rows:
        if row["phase"] in ("login", "refresh", "GET /me"):
            summary.append(loadgen.headline("auth", row["phase"], row["load"], row["usage"]))
    summary.append(
        {
            "benchmark": "auth",
            "figure": f"token verification, in-process ({FULL})",
            "note": f"{verification[FULL]:.1f} µs per call, "
            f"{verification[CACHED]:.1f} µs for a token verified before",
        }
    )
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase (max 60)")
    parser.add_argument("--users", type=int, default=20, help="accounts (max 200)")
    parser.add_argument("--concurrency", type=int, default=8, help="login connections (max 64)")
    parser.add_argument(
        "--concurrency-refresh", type=int, default=16, help="refresh, /me, /health connections"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="wrk's request timeout, s")
    parser.add_argument("--verifications", type=int, default=2000)
    parser.add_argument("--summary", type=Path, default=None, help="write headline rows as JSON")
    args = parser.parse_args()
    args.duration = min(max(args.duration, 1.0), 60.0)
    args.users = min(max(args.users, 1), 200)
    args.concurrency = min(max(args.concurrency, 1), 64)
    args.concurrency_refresh = min(max(args.concurrency_refresh, 1), 64)
    args.verifications = min(max(args.verifications, 1), 100_000)
    loadgen.wrk_binary()  # fails early, with the install hint, when wrk is missing

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nova-auth-bench-")))
        database_url, redis_url = stack.enter_context(benchstack.data_services(workdir, DATABASE))
        with auth_server(database_url, redis_url) as (base_url, pid):
            rows, metrics = bench(args, base_url, pid, redis_url)
    loadgen.write_summary(args.summary, rows, metrics)
    return 1 if any(row.get("errors") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
