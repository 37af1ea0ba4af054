"""Refresh rotation, reuse detection, and revocation of sessions and access tokens."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from nova_kit import tracing


@pytest.fixture(params=["driver", "traced"])
def statements(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The rotation's statements on the driver, and through SQLAlchemy as while traced."""
    if request.param == "traced":
        monkeypatch.setattr(tracing, "sql_traced", lambda engine: True)
    return str(request.param)


async def _refresh(api: Any, token: str) -> Any:
    return await api.client.post("/api/auth/refresh", json={"refresh_token": token})


async def test_reuse_of_a_spent_token_revokes_the_family(
    make_client: Any, api_for: Any, statements: str
) -> None:
    async with make_client(refresh_reuse_grace_seconds=0) as client:
        api = api_for(client)
        first = await api.register("reuse@example.com")
        second = (await _refresh(api, first["refresh_token"])).json()
        third = (await _refresh(api, second["refresh_token"])).json()
        assert (await api.me(third["access_token"])).status_code == 200

        # an attacker replays the first (spent) token
        replay = await _refresh(api, first["refresh_token"])
        assert replay.status_code == 401
        assert replay.json()["code"] == "refresh_token_reused"
        # the whole family is gone: the live refresh token and its access tokens
        assert (await _refresh(api, third["refresh_token"])).status_code == 401
        assert (await api.me(third["access_token"])).status_code == 401
        assert (await api.me(first["access_token"])).status_code == 401
        # a new sign-in is unaffected
        assert (await api.login("reuse@example.com")).status_code == 200


async def test_a_retry_within_the_grace_window_keeps_the_family(api: Any, statements: str) -> None:
    first = await api.register("retry@example.com")
    second = await _refresh(api, first["refresh_token"])
    assert second.status_code == 200
    retry = await _refresh(api, first["refresh_token"])
    assert retry.status_code == 409
    assert retry.json()["code"] == "refresh_token_rotated"
    # the successor received first is still good
    third = await _refresh(api, second.json()["refresh_token"])
    assert third.status_code == 200
    # once the successor itself was used, the grandparent's reuse is theft
    late = await _refresh(api, first["refresh_token"])
    assert late.status_code == 401
    assert late.json()["code"] == "refresh_token_reused"
    assert (await _refresh(api, third.json()["refresh_token"])).status_code == 401


async def test_concurrent_refreshes_yield_exactly_one_successor(
    api: Any, migrated_database: str
) -> None:
    registered = await api.register("race@example.com")
    responses = await asyncio.gather(
        *(_refresh(api, registered["refresh_token"]) for _ in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 409}, statuses
    winner = next(r for r in responses if r.status_code == 200).json()
    connection = await asyncpg.connect(migrated_database)
    try:
        tokens = await connection.fetch(
            "SELECT used_at FROM auth.refresh_tokens t JOIN auth.sessions s "
            "ON s.id = t.session_id JOIN auth.accounts a ON a.id = s.account_id "
            "WHERE a.email = 'race@example.com'"
        )
    finally:
        await connection.close()
    assert len(tokens) == 2  # the original and its single successor
    assert (await _refresh(api, winner["refresh_token"])).status_code == 200


async def test_expired_refresh_tokens_are_refused(
    make_client: Any, api_for: Any, migrated_database: str
) -> None:
    async with make_client(refresh_idle_ttl_seconds=60, refresh_absolute_ttl_seconds=60) as client:
        api = api_for(client)
        registered = await api.register("idle@example.com")
        assert registered["refresh_expires_in"] <= 60
    connection = await asyncpg.connect(migrated_database)
    try:
        await connection.execute(
            "UPDATE auth.refresh_tokens SET expires_at = now() - interval '1s'"
        )
    finally:
        await connection.close()
    async with make_client() as client:
        response = await _refresh(api_for(client), registered["refresh_token"])
        assert response.status_code == 401
        assert response.json()["code"] == "refresh_token_expired"


async def test_logout_all_ends_every_session(api: Any) -> None:
    first = await api.register("many@example.com")
    second = (await api.login("many@example.com")).json()
    response = await api.client.post(
        "/api/auth/logout-all", headers=api.bearer(second["access_token"])
    )
    assert response.status_code == 204
    for tokens in (first, second):
        assert (await api.me(tokens["access_token"])).status_code == 401
        assert (await _refresh(api, tokens["refresh_token"])).status_code == 401
    # signing in again works, and its token is valid at once (same second as the revocation)
    again = (await api.login("many@example.com")).json()
    assert (await api.me(again["access_token"])).status_code == 200


async def test_disabling_an_account_ends_its_sessions(api: Any, make_admin: Any) -> None:
    admin = await make_admin("boss@example.com")
    assert admin["account"]["roles"] == ["admin", "user"]
    user = await api.register("worker-bee@example.com")
    user_id = user["account"]["id"]

    forbidden = await api.client.post(
        f"/api/auth/accounts/{user_id}/disable", headers=api.bearer(user["access_token"])
    )
    assert forbidden.status_code == 403

    disabled = await api.client.post(
        f"/api/auth/accounts/{user_id}/disable",
        json={"reason": "spam"},
        headers=api.bearer(admin["access_token"]),
    )
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "disabled"
    assert (await api.me(user["access_token"])).status_code == 401
    assert (await _refresh(api, user["refresh_token"])).status_code == 401
    assert (await api.login("worker-bee@example.com")).status_code == 401

    itself = await api.client.post(
        f"/api/auth/accounts/{admin['account']['id']}/disable",
        headers=api.bearer(admin["access_token"]),
    )
    assert itself.status_code == 409
    assert itself.json()["code"] == "cannot_disable_self"
    assert (await api.me(admin["access_token"])).status_code == 200

    enabled = await api.client.post(
        f"/api/auth/accounts/{user_id}/enable", headers=api.bearer(admin["access_token"])
    )
    assert enabled.json()["status"] == "active"
    again = await api.login("worker-bee@example.com")
    assert again.status_code == 200
    # The owner's security log shows both; which administrator acted stays with administrators.
    log = await api.client.get(
        "/api/auth/me/security-events", headers=api.bearer(again.json()["access_token"])
    )
    nodes = [edge["node"] for edge in log.json()["edges"]]
    assert [node["kind"] for node in nodes][:3] == [
        "sign_in",
        "account_enabled",
        "account_disabled",
    ]
    assert all("actor" not in node for node in nodes)
