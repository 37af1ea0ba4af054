"""A credential-stuffing storm against the login endpoint, with other users carrying on."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.resilience.conftest import Observe
from tests.resilience.harness import (
    PROFILE,
    Load,
    Probe,
    System,
    bearer,
    load_client,
    ms,
    percentile,
    register,
    running_system,
    summarize,
)

ATTACKER = "203.0.113.7"
"""The storm comes from one address (X-Forwarded-For, trusted from loopback like an ingress)."""
BYSTANDER = "198.51.100.20"
STORM_CONCURRENCY = 32
P99_BOUND_SECONDS = 1.0
LIMITS = {
    "NOVA_GATEWAY_RATE_LIMIT_PER_CLIENT": "300",
    "NOVA_GATEWAY_RATE_LIMIT_WINDOW_SECONDS": "60",
    "NOVA_AUTH_LOGIN_LIMIT_PER_CLIENT": "100",
    "NOVA_AUTH_LOGIN_LIMIT_PER_ACCOUNT_CLIENT": "10",
    # The suite's client stands in for an ingress on loopback: its X-Forwarded-For is trusted.
    "NOVA_GATEWAY_FORWARDED_ALLOW_IPS": "127.0.0.1",
    # Every process shares this machine's cores here; in a cluster auth hashes on CPUs of its
    # own. One hashing thread keeps a storm's Argon2 work from taking every core.
    "NOVA_AUTH_HASH_WORKERS": "1",
}


@pytest.mark.scenario(
    7,
    "Login storm (credential stuffing from one address)",
    expected="the storm gets 429 with Retry-After (never 5xx); other users' requests and "
    f"/health stay fast (p99 < {P99_BOUND_SECONDS * 1000:.0f} ms) and another user can "
    "still sign in",
)
async def test_login_storm(tmp_path_factory: pytest.TempPathFactory, observe: Observe) -> None:
    with running_system(tmp_path_factory.mktemp("storm"), env=LIMITS, worker=False) as system:
        await storm(system, observe)


async def storm(system: System, observe: Observe) -> None:
    async with load_client(timeout=30) as client:
        bystander_headers = {"X-Forwarded-For": BYSTANDER}
        victims = [
            await register(client, system.gateway, f"victim{i}@example.com") for i in range(3)
        ]
        bystander = await register(client, system.gateway, "bystander@example.com")
        headers = {**bearer(bystander), **bystander_headers}

        async def me(client: httpx.AsyncClient, index: int) -> httpx.Response:
            return await client.get(f"{system.gateway}/api/users/me", headers=headers)

        # Stuffing: many e-mails (the victims among them), a few common passwords each.
        emails = [f"leaked{i}@example.com" for i in range(PROFILE.storm_requests // 3)] + [
            victim.email for victim in victims
        ]
        passwords = ["123456", "password", "qwerty123"]
        attempts = [
            (emails[i % len(emails)], passwords[i % len(passwords)])
            for i in range(PROFILE.storm_requests)
        ]
        statuses: dict[int, int] = {}
        retry_after: list[str] = []
        gate = asyncio.Semaphore(STORM_CONCURRENCY)

        async def attempt(email: str, password: str) -> None:
            async with gate:
                try:
                    response = await client.post(
                        f"{system.gateway}/api/auth/login",
                        json={"email": email, "password": password},
                        headers={"X-Forwarded-For": ATTACKER},
                    )
                except httpx.HTTPError:
                    statuses[0] = statuses.get(0, 0) + 1
                    return
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code == 429:
                    retry_after.append(response.headers.get("retry-after", ""))

        bystander_load = Load(me, rate=10, duration=15 if PROFILE.name == "full" else 8)
        health = Probe(f"{system.url('auth')}/health", interval=0.1)
        stop = asyncio.Event()
        probing = asyncio.create_task(health.run(client, stop))
        storm_started = asyncio.get_running_loop().time()
        _, bystander_samples = await asyncio.gather(
            asyncio.gather(*(attempt(email, password) for email, password in attempts)),
            bystander_load.run(client),
        )
        storm_seconds = asyncio.get_running_loop().time() - storm_started
        # A real user from elsewhere signs in while the attacker is still locked out.
        other = await client.post(
            f"{system.gateway}/api/auth/login",
            json={"email": victims[0].email, "password": victims[0].password},
            headers=bystander_headers,
        )
        stop.set()
        await probing

    health_latencies = [s.seconds for s in health.samples]
    me_latencies = [s.seconds for s in bystander_samples]
    observe(
        f"{len(attempts)} login attempts from one address with {STORM_CONCURRENCY} at once in "
        f"{storm_seconds:.1f} s: " + ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
    )
    observe(
        f"bystander GET /api/users/me (10 req/s): {summarize(bystander_samples)}; "
        f"auth /health: {len(health.samples)} probes, p50 {ms(percentile(health_latencies, 0.5))}"
        f", p99 {ms(percentile(health_latencies, 0.99))}; victim's own login from another "
        f"address: {other.status_code}"
    )
    assert not any(status >= 500 or status == 0 for status in statuses), statuses
    assert statuses.get(429, 0) >= len(attempts) * 0.5, statuses
    assert set(statuses) <= {401, 429}, statuses
    assert retry_after
    assert all(value.isdigit() and int(value) > 0 for value in retry_after)
    assert all(s.status == 200 for s in bystander_samples), summarize(bystander_samples)
    assert all(s.status == 200 for s in health.samples)
    assert percentile(me_latencies, 0.99) < P99_BOUND_SECONDS
    assert percentile(health_latencies, 0.99) < P99_BOUND_SECONDS
    assert other.status_code == 200, other.text
