"""Abuse cases against the live system: each is an attacker's request and its refusal.

Every case sends from a loopback address of its own (``127.0.0.x``; Linux routes the whole
``127.0.0.0/8`` to the loopback interface), so the per-client budgets of one case never meet
another's. The cases that stop Redis or a service run last.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.attack.conftest import Observe
from tests.resilience.harness import System, percentile

PASSWORD = "correct horse 42 battery"

# GraphQL over HTTP: with this media type a request error is a 4xx (with application/json, 200)
GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json"}


@asynccontextmanager
async def client_from(address: str, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        transport=transport, timeout=30, trust_env=False, limits=limits, **kwargs
    ) as client:
        yield client


async def sign_up(client: httpx.AsyncClient, gateway: str, email: str) -> dict[str, Any]:
    credentials = {"email": email, "password": PASSWORD}
    registered = await client.post(f"{gateway}/api/auth/register", json=credentials)
    assert registered.status_code == 202, registered.text
    signed_in = await client.post(f"{gateway}/api/auth/login", json=credentials)
    assert signed_in.status_code == 200, signed_in.text
    body: dict[str, Any] = signed_in.json()
    return body


def fragment_bomb(levels: int) -> str:
    fragments = [f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(1, levels)]
    fragments.append(f"fragment F{levels} on User {{ id }}")
    return "query Bomb { me { ...F1 } } " + " ".join(fragments)


USER_FIELDS = (
    "id email emailVerified roles status lastLoginAt createdAt displayName bio avatarUrl locale "
    "timezone updatedAt deletedAt __typename"
)


def wide_merge(copies: int) -> str:
    """The same 15 fields ``copies`` times: within the field and repetition limits at 50, but
    validation compares every pair of same-named fields (quadratic)."""
    return "query Wide { me { " + " ".join([f"... on User {{ {USER_FIELDS} }}"] * copies) + " } }"


@pytest.mark.attack(
    1,
    "Fragment bomb: 20 and 30 fragments each spreading the next twice (~1 KB, 2^20 / 2^30 "
    "fields), anonymous; 50 a second for 3 s beside /health; and a wide merge: 15 fields 50 "
    "times (751 fields, within the field and repetition limits)",
    refusal="400 MAX_FIELDS_EXCEEDED (the wide merge: MAX_FIELD_MERGES_EXCEEDED) within 50 ms, "
    "before validation and planning; /health p99 under 50 ms during the flood",
)
async def test_fragment_bomb(system: System, observe: Observe) -> None:
    # Timings are compared with /health's on the same machine at the same moment: the suite
    # shares its cores with everything else running there.
    async with client_from("127.0.0.11") as prober:

        async def health_time() -> float:
            started = time.perf_counter()
            response = await prober.get(f"{system.gateway}/health")
            assert response.status_code == 200
            return time.perf_counter() - started

        baseline = [await health_time() for _ in range(20)]
        base_median, base_p99 = statistics.median(baseline), percentile(baseline, 0.99)
        observe(f"/health alone: median {base_median * 1000:.1f} ms, p99 {base_p99 * 1000:.1f} ms")
        documents = [
            ("20 levels", fragment_bomb(20), "MAX_FIELDS_EXCEEDED"),
            ("30 levels", fragment_bomb(30), "MAX_FIELDS_EXCEEDED"),
            ("wide merge", wide_merge(50), "MAX_FIELD_MERGES_EXCEEDED"),
        ]
        for label, query, expected_code in documents:
            timings = []
            for attempt in range(5):
                # a new comment each time: the document cache never helps
                body = {"query": f"# {attempt}\n{query}"}
                started = time.perf_counter()
                response = await prober.post(
                    f"{system.gateway}/graphql", json=body, headers=GRAPHQL_RESPONSE
                )
                timings.append(time.perf_counter() - started)
                assert response.status_code == 400, response.text
                assert "data" not in response.json(), response.text
                codes = {e["extensions"]["code"] for e in response.json()["errors"]}
                assert expected_code in codes, codes
            median = statistics.median(timings)
            observe(f"{label} ({len(query)} B): 400 {sorted(codes)}, median {median * 1000:.1f} ms")
            assert median < base_median + 0.05

        # The flood comes from five addresses, so the per-client budget does not absorb it.
        # Best of three floods: another process on a shared machine can only make a run slower,
        # while bombs that cost real work (expansion) make every run slow.
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(client_from(f"127.0.0.{12 + i}")) for i in range(5)
            ]

            async def bomb(index: int) -> int:
                response = await clients[index % 5].post(
                    f"{system.gateway}/graphql",
                    json={"query": f"# {index}\n{fragment_bomb(30)}"},
                    headers=GRAPHQL_RESPONSE,
                )
                return response.status_code

            async def flood(run: int) -> tuple[set[int], float]:
                bombs: list[asyncio.Task[int]] = []
                probes: list[asyncio.Task[float]] = []
                started = time.perf_counter()
                for tick in range(150):  # 50 bombs a second for 3 s, /health every 100 ms
                    bombs.append(asyncio.create_task(bomb(run * 1000 + tick)))
                    if tick % 5 == 0:
                        probes.append(asyncio.create_task(health_time()))
                    await asyncio.sleep(max(0.0, started + (tick + 1) / 50 - time.perf_counter()))
                statuses = set(await asyncio.gather(*bombs))
                return statuses, percentile(await asyncio.gather(*probes), 0.99)

            runs = [await flood(run) for run in range(3)]
    for statuses, p99 in runs:
        observe(f"flood: 150 bombs answered {sorted(statuses)}; /health p99 {p99 * 1000:.1f} ms")
        assert statuses == {400}
    assert min(p99 for _, p99 in runs) < base_p99 + 0.05


@pytest.mark.attack(
    2,
    "A new X-Forwarded-For on every request, to buy a fresh rate-limit budget (200 requests, "
    "200 addresses, then 200 without the header, 100 of them at once)",
    refusal="limited exactly as without the header: 150 of 200 allowed, the rest 429 with "
    "Retry-After; a burst never exhausts the Redis pool into letting requests through",
)
async def test_forwarded_for_buys_no_budget(system: System, observe: Observe) -> None:
    outcomes = []
    # The spoofer sends from 127.0.0.1 itself, the address a careless default would trust.
    for address, spoof in (("127.0.0.1", True), ("127.0.0.22", False)):
        async with client_from(address) as client:

            async def one(i: int, client: httpx.AsyncClient = client, spoof: bool = spoof) -> int:
                headers = {"X-Forwarded-For": f"198.51.{i // 250}.{i % 250}"} if spoof else {}
                response = await client.get(f"{system.gateway}/api/openapi.json", headers=headers)
                if response.status_code == 429:
                    assert int(response.headers["retry-after"]) >= 1
                return response.status_code

            statuses = [await one(i) for i in range(100)]
            statuses += await asyncio.gather(*(one(i) for i in range(100, 200)))
        allowed = statuses.count(200)
        observe(
            f"{'spoofed' if spoof else 'plain'}: {allowed} allowed, "
            f"{statuses.count(429)} refused 429"
        )
        outcomes.append(sorted(statuses))
    assert outcomes[0] == outcomes[1] == sorted([200] * 150 + [429] * 50)


@pytest.mark.attack(
    3,
    "Wrong passwords for someone else's account, from one address (a new X-Forwarded-For on "
    "every guess), to lock its owner out",
    refusal="the attacker gets 429 after 5 failures; from other addresses the account only "
    "slows down; the owner signs in with the right password meanwhile",
)
async def test_lockout_cannot_be_turned_against_the_owner(system: System, observe: Observe) -> None:
    email = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    async with client_from("127.0.0.31") as owner:
        await sign_up(owner, system.gateway, email)
    async with client_from("127.0.0.32") as attacker:
        # a new X-Forwarded-For on every guess: the gateway passes on only the address it
        # resolved, so auth's per-(account, client) budget is the attacker's one
        statuses = [
            (
                await attacker.post(
                    f"{system.gateway}/api/auth/login",
                    json={"email": email, "password": "guess!"},
                    headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
                )
            ).status_code
            for i in range(20)
        ]
    observe(
        f"attacker (a new X-Forwarded-For each time): {statuses.count(401)} x 401, "
        f"then {statuses.count(429)} x 429"
    )
    assert statuses == [401] * 5 + [429] * 15
    async with client_from("127.0.0.33") as owner:
        started = time.perf_counter()
        signed_in = await owner.post(
            f"{system.gateway}/api/auth/login", json={"email": email, "password": PASSWORD}
        )
        elapsed = time.perf_counter() - started
    observe(f"owner from another address: {signed_in.status_code} in {elapsed * 1000:.0f} ms")
    assert signed_in.status_code == 200, signed_in.text


@pytest.mark.attack(
    4,
    "Account enumeration: register and sign in with addresses that have an account and ones "
    "that do not, comparing answers and timings",
    refusal="the same status and body for both (202 on registration, 401 on a wrong "
    "password); medians within 40 % of each other (a password is hashed in both branches)",
)
async def test_registration_and_login_do_not_enumerate(system: System, observe: Observe) -> None:
    known = f"known-{uuid.uuid4().hex[:8]}@example.com"
    async with client_from("127.0.0.41") as client:
        await sign_up(client, system.gateway, known)

    async def timed(
        client: httpx.AsyncClient, path: str, email: str, password: str
    ) -> tuple[float, int, Any]:
        started = time.perf_counter()
        response = await client.post(
            f"{system.gateway}{path}", json={"email": email, "password": password}
        )
        answer = {k: v for k, v in response.json().items() if k != "request_id"}
        return time.perf_counter() - started, response.status_code, answer

    # registration: many tries; sign-in: four wrong passwords per address (under its limit)
    for path, password, rounds in (
        ("/api/auth/register", "another strong one", 8),
        ("/api/auth/login", "wrong guess!", 4),
    ):
        taken, fresh = [], []
        for i in range(rounds):
            async with client_from(f"127.0.0.{42 + i % 8}") as client:
                taken.append(await timed(client, path, known, password))
                unknown = f"new-{uuid.uuid4().hex[:8]}@example.com"
                fresh.append(await timed(client, path, unknown, password))
        answers = {(status, str(answer)) for _, status, answer in taken + fresh}
        assert len(answers) == 1, answers
        t_taken = statistics.median(t for t, _, _ in taken)
        t_fresh = statistics.median(t for t, _, _ in fresh)
        observe(
            f"{path}: {taken[0][1]} {taken[0][2]} for both; median {t_taken * 1000:.0f} ms "
            f"(has an account) vs {t_fresh * 1000:.0f} ms (none)"
        )
        assert abs(t_taken - t_fresh) < 0.4 * max(t_taken, t_fresh)


@pytest.mark.attack(
    5,
    "A service-account token (client credentials of the worker) used at the public edge",
    refusal="401 invalid_token at the gateway",
)
async def test_service_tokens_are_refused_at_the_edge(system: System, observe: Observe) -> None:
    async with client_from("127.0.0.51") as client:
        issued = await client.post(
            f"{system.url('auth')}/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": "worker",
                "client_secret": "nova-dev-worker-secret",
            },
        )
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        response = await client.get(
            f"{system.gateway}/api/users/me", headers={"Authorization": f"Bearer {token}"}
        )
    observe(
        f"GET /api/users/me with a service token: {response.status_code} "
        f"{response.json().get('code')}"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


@pytest.mark.attack(
    6,
    "Schema discovery without introspection: misspelt fields to harvest 'Did you mean …?'",
    refusal="400 GRAPHQL_VALIDATION_FAILED naming no other field; introspection refused",
)
async def test_no_field_suggestions(system: System, observe: Observe) -> None:
    async with client_from("127.0.0.61") as client:
        typo = await client.post(
            f"{system.gateway}/graphql", json={"query": "{ me { emai } }"}, headers=GRAPHQL_RESPONSE
        )
        schema = await client.post(
            f"{system.gateway}/graphql",
            json={"query": "{ __schema { types { name } } }"},
            headers=GRAPHQL_RESPONSE,
        )
    message = typo.json()["errors"][0]["message"]
    observe(
        f"typo: {typo.status_code} {message!r}; __schema: "
        f"{schema.json()['errors'][0]['extensions']['code']}"
    )
    assert typo.status_code == 400
    assert "Did you mean" not in message
    assert schema.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"


@pytest.mark.attack(
    7,
    "Cross-site write with the victim's session cookie: a foreign Origin and no "
    "Sec-Fetch-Site (an older browser)",
    refusal="403 csrf_rejected before the request reaches a service",
)
async def test_cross_site_cookie_writes(system: System, observe: Observe) -> None:
    email = f"csrf-{uuid.uuid4().hex[:8]}@example.com"
    session = {"X-Nova-Session": "cookie"}
    async with client_from("127.0.0.71") as browser:
        await browser.post(
            f"{system.gateway}/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        signed_in = await browser.post(
            f"{system.gateway}/api/auth/login",
            json={"email": email, "password": PASSWORD},
            headers=session,
        )
        assert signed_in.status_code == 200, signed_in.text
        forged = await browser.patch(
            f"{system.gateway}/api/users/me",
            json={"bio": "pwned"},
            headers={"Origin": "https://evil.example"},
        )
        own = await browser.patch(f"{system.gateway}/api/users/me", json={"bio": "mine"})
    observe(
        f"foreign Origin: {forged.status_code} {forged.json().get('code')}; "
        f"same origin: {own.status_code}"
    )
    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_rejected"
    assert own.status_code == 200, own.text


@pytest.mark.attack(
    8,
    "A subgraph down, to learn internal addresses from the error",
    refusal="the error names the subgraph and a stable code, never a host or port",
)
async def test_no_internal_addresses(system: System, observe: Observe) -> None:
    async with client_from("127.0.0.81") as client:
        system.process("users").stop()
        try:
            response = await client.post(
                f"{system.gateway}/graphql", json={"query": "{ me { displayName } }"}
            )
        finally:
            system.process("users").start()
            system.process("users").wait_until_ready(timeout=60)
    errors = response.json().get("errors", [])
    observe(
        f"{response.status_code}: {[(e['message'], e['extensions'].get('code')) for e in errors]}"
    )
    assert errors
    assert "127.0.0.1" not in response.text
    assert ":" + system.url("users").rsplit(":", 1)[1] not in response.text


FAILED_CLOSED = (503, "token_check_unavailable")


@pytest.mark.attack(
    9,
    "Redis stopped: a logged-out (revoked) token replayed, and sign-in / registration tried "
    "while nothing can be limited",
    refusal="the token refused within 250 ms, never accepted (401 from the revocation the "
    "services hold in memory until they notice the lost subscription, then 503 "
    "token_check_unavailable); 503 rate_limit_unavailable for sign-in and registration; "
    "nothing hangs",
)
async def test_revocation_and_limits_fail_closed_without_redis(
    system: System, observe: Observe
) -> None:
    email = f"revoked-{uuid.uuid4().hex[:8]}@example.com"
    async with client_from("127.0.0.91") as client:
        tokens = await sign_up(client, system.gateway, email)
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        logout = await client.post(
            f"{system.gateway}/api/auth/logout",
            json={"refresh_token": tokens["refresh_token"]},
            headers=bearer,
        )
        assert logout.status_code == 204, logout.text
        assert (
            await client.get(f"{system.gateway}/api/users/me", headers=bearer)
        ).status_code == 401
        system.stop_redis()
        try:
            timings: list[float] = []
            answers: list[tuple[int, Any]] = []

            async def replay() -> tuple[int, Any]:
                started = time.perf_counter()
                response = await client.get(f"{system.gateway}/api/users/me", headers=bearer)
                timings.append(time.perf_counter() - started)
                answers.append((response.status_code, response.json().get("code")))
                return answers[-1]

            for _ in range(5):
                await replay()
            # Until a service notices its revocation subscription is gone (moments), the
            # revocation it holds in memory refuses the token (401); from then on nothing can be
            # checked and every token is refused (503). Bounded: 2 s of replays at most.
            deadline = time.monotonic() + 2
            while answers[-1] != FAILED_CLOSED and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                await replay()
            login = await client.post(
                f"{system.gateway}/api/auth/login", json={"email": email, "password": PASSWORD}
            )
            register = await client.post(
                f"{system.gateway}/api/auth/register",
                json={"email": f"x-{email}", "password": PASSWORD},
            )
        finally:
            system.start_redis()
    worst = max(timings)
    observe(
        f"revoked token: {sorted(set(answers))}, slowest {worst * 1000:.0f} ms; "
        f"login {login.status_code} {login.json().get('code')}; register "
        f"{register.status_code} {register.json().get('code')}"
    )
    assert set(answers) <= {FAILED_CLOSED, (401, "invalid_token")}, answers
    assert answers[-1] == FAILED_CLOSED, answers
    assert worst < 0.25
    assert (login.status_code, login.json()["code"]) == (503, "rate_limit_unavailable")
    assert (register.status_code, register.json()["code"]) == (503, "rate_limit_unavailable")
