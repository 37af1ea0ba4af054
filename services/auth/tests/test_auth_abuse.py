"""Abuse resistance: no account enumeration, bounded input, rate limits before hashing."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import pytest

from nova_kit import ratelimit


def _public(response: Any) -> tuple[int, dict[str, Any]]:
    body = dict(response.json())
    body.pop("request_id", None)
    return response.status_code, body


async def test_unknown_wrong_and_disabled_look_the_same(api: Any, migrated_database: str) -> None:
    await api.register("known@example.com")
    await api.register("disabled@example.com")
    connection = await asyncpg.connect(migrated_database)
    try:
        await connection.execute(
            "UPDATE auth.accounts SET status = 'disabled' WHERE email = 'disabled@example.com'"
        )
    finally:
        await connection.close()

    hashing = api.state.hashing
    outcomes = []
    for email, password in [
        ("nobody@example.com", "whatever password"),
        ("known@example.com", "the wrong password"),
        ("disabled@example.com", api.password),  # even the right password
    ]:
        before = hashing.verify_count
        response = await api.login(email, password)
        # every failure runs exactly one Argon2 verification: no timing shortcut
        assert hashing.verify_count == before + 1
        outcomes.append(_public(response))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0] == (
        401,
        {"code": "invalid_credentials", "message": "invalid e-mail or password"},
    )


async def test_control_characters_are_refused_not_a_database_error(
    api: Any,
) -> None:
    # PostgreSQL text cannot hold NUL: such an address used to reach the query and fail there.
    await api.register("nul@example.com")
    for email in ["nul\x00@example.com", "n\x00ul@example.com", "nul@exa\x01mple.com"]:
        login = await api.login(email, api.password)
        assert _public(login) == (
            401,
            {"code": "invalid_credentials", "message": "invalid e-mail or password"},
        ), email
        body = await api.gql(
            "mutation($email: String!, $password: String!) "
            "{ login(input: {email: $email, password: $password}) { accessToken } }",
            email=email,
            password=api.password,
        )
        assert body["errors"][0]["extensions"]["code"] == "invalid_credentials", body
        register = await api.client.post(
            "/api/auth/register", json={"email": email, "password": api.password}
        )
        assert register.status_code == 422, register.text
        assert register.json()["code"] == "invalid_email"
    # A display name reaches the account event (JSON in PostgreSQL): control characters are
    # refused like the users service refuses them.
    named = await api.client.post(
        "/api/auth/register",
        json={"email": "named@example.com", "password": api.password, "display_name": "a\x00b"},
    )
    assert named.status_code == 422, named.text
    assert named.json()["code"] == "validation_error"
    assert named.json()["details"][0]["field"] == "display_name"
    body = await api.gql(
        'mutation($name: String) { register(input: {email: "named@example.com", '
        'password: "correct horse 42 battery", displayName: $name}) }',
        name="a\x00b",
    )
    assert body["errors"][0]["extensions"]["code"] == "validation_error", body


async def test_oversized_passwords_are_refused_before_hashing(api: Any) -> None:
    hashing = api.state.hashing
    before = (hashing.hash_count, hashing.verify_count)
    huge = "a" * 1_048_576
    for path, body in [
        ("/api/auth/login", {"email": "a@example.com", "password": huge}),
        ("/api/auth/register", {"email": "a@example.com", "password": huge}),
    ]:
        response = await api.client.post(path, json=body)
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "payload_too_large"
    long = "a" * 2000  # under the body limit, over any acceptable password
    response = await api.client.post(
        "/api/auth/login", json={"email": "a@example.com", "password": long}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    graphql = await api.gql(
        'mutation($p: String!) { login(input: {email: "a@example.com", password: $p}) '
        "{ accessToken } }",
        p=long,
    )
    assert graphql["errors"][0]["extensions"]["code"] == "validation_error"
    assert (hashing.hash_count, hashing.verify_count) == before


class LimiterClock:
    """The rate limiter's clock, held still: a burst falls in one window however slowly the
    machine runs it, and the window passes when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.mark.parametrize("strategy", ["fixed", "sliding"])
async def test_failed_logins_are_rate_limited_then_recover(
    make_client: Any, api_for: Any, strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "login_limit_per_account_client": 5,
        "rate_limit_window_seconds": 60,
        "rate_limit_strategy": strategy,
        # no real waits: the limiter's keys expire in Redis on the real clock, and the growing
        # delay after repeated failures (tested on its own) would let them lapse mid-burst
        "login_slowdown_max_seconds": 0,
    }
    clock = LimiterClock()
    monkeypatch.setattr(ratelimit, "time", clock)
    async with make_client(**settings) as client:
        api = api_for(client)
        await api.register("target@example.com")
        hashing = api.state.hashing
        before = hashing.verify_count
        statuses = []
        retry_after = 0
        for _ in range(30):
            response = await api.login("target@example.com", "guess guess guess")
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.json()["code"] == "rate_limited"
                retry_after = int(response.headers["retry-after"])
        assert statuses[:5] == [401] * 5
        assert statuses[5:] == [429] * 25
        assert 1 <= retry_after <= 120
        # the limiter refused before hashing: only the first five were verified
        assert hashing.verify_count - before == 5
        # while limited, even the right password is refused; no permanent lockout after
        assert (await api.login("target@example.com")).status_code == 429
        clock.now += retry_after + 0.2
        recovered = await api.login("target@example.com")
        assert recovered.status_code == 200, recovered.text


async def test_successful_logins_do_not_use_up_the_account_limit(
    make_client: Any, api_for: Any
) -> None:
    async with make_client(
        login_limit_per_account_client=3, rate_limit_window_seconds=60
    ) as client:
        api = api_for(client)
        await api.register("regular@example.com")
        for _ in range(6):
            assert (await api.login("regular@example.com")).status_code == 200


async def test_client_address_limit_spans_accounts(make_client: Any, api_for: Any) -> None:
    async with make_client(login_limit_per_client=3, rate_limit_window_seconds=60) as client:
        api = api_for(client)
        statuses = [
            (await api.login(f"spray{i}@example.com", "guess guess guess")).status_code
            for i in range(5)
        ]
        assert statuses == [401, 401, 401, 429, 429]


async def test_aliased_graphql_logins_count_every_attempt(make_client: Any, api_for: Any) -> None:
    async with make_client(
        login_limit_per_account_client=5, rate_limit_window_seconds=60
    ) as client:
        api = api_for(client)
        await api.register("batch@example.com")
        fields = " ".join(
            f'a{i}: login(input: {{email: "batch@example.com", password: "guess{i} guess"}}) '
            "{ accessToken }"
            for i in range(10)
        )
        result = await api.gql(f"mutation {{ {fields} }}")
        codes = sorted(error["extensions"]["code"] for error in result["errors"])
        assert codes == ["invalid_credentials"] * 5 + ["rate_limited"] * 5
        limited = next(e for e in result["errors"] if e["extensions"]["code"] == "rate_limited")
        assert limited["extensions"]["retryAfter"] >= 1
        assert (await api.login("batch@example.com")).status_code == 429


async def login_from(client: Any, address: str, email: str, password: str) -> Any:
    return await client.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )


async def test_an_attacker_cannot_lock_the_owner_out(make_client: Any, api_for: Any) -> None:
    # The test client's peer stands in for the gateway, whose X-Forwarded-For names the client.
    settings = {
        "forwarded_allow_ips": "testclient",
        "login_limit_per_account_client": 5,
        "login_slowdown_after": 8,
        "login_slowdown_max_seconds": 0.5,
        "rate_limit_window_seconds": 60,
    }
    async with make_client(**settings) as client:
        api = api_for(client)
        await api.register("victim@example.com")
        attacker = [
            (
                await login_from(client, "203.0.113.66", "victim@example.com", "wrong guess!")
            ).status_code
            for _ in range(20)
        ]
        # the attacker's own budget for this account runs out ...
        assert attacker == [401] * 5 + [429] * 15
        # ... and from other addresses the account slows down, but never locks
        for i in range(6):
            other = await login_from(client, f"198.51.100.{i}", "victim@example.com", "wrong!")
            assert other.status_code == 401
        started = time.perf_counter()
        owner = await login_from(
            client, "192.0.2.10", "victim@example.com", "correct horse battery staple"
        )
        assert owner.status_code == 200, owner.text
        # past eight failures to the account every attempt waits (here at most 0.5 s)
        assert time.perf_counter() - started >= 0.25
