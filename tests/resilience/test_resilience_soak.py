"""A sustained mixed load — register, login, read, update, logout — with memory sampled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from email.message import EmailMessage

import asyncpg
import httpx
import pytest

from tests.resilience.conftest import Observe
from tests.resilience.harness import (
    PROFILE,
    System,
    load_client,
    ms,
    percentile,
    rss_bytes,
    wait_until,
)

VIRTUAL_USERS = 6
SAMPLE_EVERY_SECONDS = 5.0
MIB = 1024 * 1024
SECOND_HALF_GROWTH_LIMIT = 32 * MIB
"""Memory may grow while caches and pools fill; in the second half of the run it must not
keep growing: more than this (per process tree) is taken for a leak."""


WELCOME_SUBJECT = "Welcome to Nova"
VERIFY_SUBJECT = "Verify your Nova e-mail address"


def mails_by_kind(mails: list[EmailMessage]) -> tuple[int, int]:
    """(welcome e-mails, verification e-mails) among what the sink received."""
    subjects = [str(mail["Subject"]) for mail in mails]
    return subjects.count(WELCOME_SUBJECT), subjects.count(VERIFY_SUBJECT)


@pytest.mark.scenario(
    9,
    "Sustained mixed load with memory sampled",
    expected="register/login/me/update/logout for the whole run with no failed request; "
    "every registration ends as exactly one account, profile, welcome and verification e-mail; "
    f"no process grows by more than {SECOND_HALF_GROWTH_LIMIT // MIB} MiB in the second half",
)
@pytest.mark.timeout(PROFILE.soak_seconds + 300)
async def test_mixed_load_soak(system: System, observe: Observe) -> None:
    gateway = system.gateway
    latencies: dict[str, list[float]] = {}
    failures: list[str] = []
    registered: list[str] = []
    deadline = time.monotonic() + PROFILE.soak_seconds
    names = ("gateway", "auth", "users", "worker")
    memory: dict[str, list[tuple[float, int]]] = {name: [] for name in names}
    origin = time.monotonic()

    async def timed(step: str, request: Awaitable[httpx.Response]) -> httpx.Response:
        started = time.monotonic()
        response = await request
        latencies.setdefault(step, []).append(time.monotonic() - started)
        if response.status_code >= 400:
            failures.append(f"{step}: {response.status_code} {response.text[:120]}")
        return response

    async def virtual_user(number: int, client: httpx.AsyncClient) -> None:
        for cycle in range(100_000):
            if time.monotonic() >= deadline:
                return
            email = f"soak{number}-{cycle}@example.com"
            password = f"soak password {number} {cycle}"
            credentials = {"email": email, "password": password}
            created = await timed(
                "register", client.post(f"{gateway}/api/auth/register", json=credentials)
            )
            if created.status_code != 202:
                continue
            signed_in = await timed(
                "login", client.post(f"{gateway}/api/auth/login", json=credentials)
            )
            if signed_in.status_code != 200:
                continue
            registered.append(email)
            token = signed_in.json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            await timed("me", client.get(f"{gateway}/api/users/me", headers=auth))
            await timed(
                "update",
                client.patch(
                    f"{gateway}/api/users/me", headers=auth, json={"bio": f"cycle {cycle}"}
                ),
            )
            await timed("logout", client.post(f"{gateway}/api/auth/logout", headers=auth))
            login = await timed("login", client.post(f"{gateway}/api/auth/login", json=credentials))
            if login.status_code != 200:
                continue
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            graphql = {"query": "{ me { displayName bio } account { email } }"}
            await timed("graphql", client.post(f"{gateway}/graphql", json=graphql, headers=auth))
            await timed("logout", client.post(f"{gateway}/api/auth/logout", headers=auth))

    async def sample_memory(stop: asyncio.Event) -> None:
        for _ in range(100_000):
            for name in names:
                memory[name].append(
                    (time.monotonic() - origin, rss_bytes(system.process(name).pid))
                )
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_SECONDS)
                return
            except TimeoutError:
                continue

    stop = asyncio.Event()
    async with load_client(timeout=30) as client:
        sampler = asyncio.create_task(sample_memory(stop))
        await asyncio.gather(*(virtual_user(n, client) for n in range(VIRTUAL_USERS)))
        stop.set()
        await sampler

    async def drained() -> bool:
        connection = await asyncpg.connect(system.database_url)
        try:
            profiles = await connection.fetchval("SELECT count(*) FROM users.profiles")
        finally:
            await connection.close()
        welcome, verify = mails_by_kind(system.mails())
        return int(profiles) >= len(registered) and min(welcome, verify) >= len(registered)

    drain_seconds = await wait_until(drained, timeout=180, interval=1.0)
    connection = await asyncpg.connect(system.database_url)
    try:
        accounts = int(await connection.fetchval("SELECT count(*) FROM auth.accounts"))
        profiles = int(await connection.fetchval("SELECT count(*) FROM users.profiles"))
    finally:
        await connection.close()
    welcome, verify = mails_by_kind(system.mails())

    total = sum(len(values) for values in latencies.values())
    observe(
        f"{PROFILE.soak_seconds:g} s, {VIRTUAL_USERS} virtual users, {total} requests "
        f"({total / PROFILE.soak_seconds:.0f} req/s), {len(failures)} failed; "
        + ", ".join(
            f"{step} p50 {ms(percentile(values, 0.5))} p99 {ms(percentile(values, 0.99))}"
            for step, values in sorted(latencies.items())
        )
    )
    observe(
        f"{len(registered)} registrations → {accounts} accounts, {profiles} profiles, "
        f"{welcome} welcome and {verify} verification e-mails ({drain_seconds:.1f} s for the "
        "worker to catch up)"
    )
    growth: dict[str, int] = {}
    for name, points in memory.items():
        values = [rss for _, rss in points]
        middle = values[len(values) // 2]
        growth[name] = values[-1] - middle
        observe(
            f"{name} RSS: start {values[0] / MIB:.0f} MiB, middle {middle / MIB:.0f} MiB, "
            f"end {values[-1] / MIB:.0f} MiB, peak {max(values) / MIB:.0f} MiB "
            f"({len(values)} samples)"
        )
    assert not failures, failures[:5]
    assert registered
    assert accounts == len(registered)
    assert profiles == len(registered)
    assert welcome == len(registered)
    assert verify == len(registered)
    leaking = {name: g // MIB for name, g in growth.items() if g > SECOND_HALF_GROWTH_LIMIT}
    assert not leaking, f"grew in the second half (MiB): {leaking}"
