"""Service accounts (client credentials) and the internal API."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from redis.asyncio import Redis

from nova_auth.config import DEV_SERVICE_CLIENTS


async def service_token(api: Any, client_id: str = "worker", secret: str | None = None) -> Any:
    return await api.client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret or DEV_SERVICE_CLIENTS["worker"],
        },
    )


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def test_client_credentials_grant(api: Any) -> None:
    issued = await service_token(api)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "Bearer"
    assert issued.headers["cache-control"] == "no-store"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == "service:worker"
    assert claims["kind"] == "service"
    assert claims["roles"] == ["service"]
    assert 0 < body["expires_in"] <= 900

    for client_id, secret in [("worker", "wrong secret"), ("nobody", "nova-dev-worker-secret")]:
        refused = await service_token(api, client_id, secret)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_client"
    wrong_grant = await api.client.post(
        "/oauth/token",
        json={"grant_type": "password", "client_id": "worker", "client_secret": "x"},
    )
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["code"] == "unsupported_grant_type"


async def test_configured_service_clients_replace_the_dev_default(
    make_client: Any, api_for: Any
) -> None:
    clients = json.dumps({"worker": "a-long-and-random-worker-secret"})
    async with make_client(service_clients=clients) as client:
        api = api_for(client)
        assert (await service_token(api)).status_code == 401
        assert (
            await service_token(api, secret="a-long-and-random-worker-secret")
        ).status_code == 200


async def test_internal_accounts_need_a_service_token(api: Any) -> None:
    user = await api.register("inside@example.com")
    user_id = user["account"]["id"]
    token = (await service_token(api)).json()["access_token"]

    anonymous = await api.client.get(f"/internal/accounts/{user_id}")
    assert anonymous.status_code == 401
    as_user = await api.client.get(
        f"/internal/accounts/{user_id}", headers=api.bearer(user["access_token"])
    )
    assert as_user.status_code == 403
    assert as_user.json()["code"] == "service_token_required"

    view = await api.client.get(f"/internal/accounts/{user_id}", headers=api.bearer(token))
    assert view.status_code == 200
    assert view.json()["email"] == "inside@example.com"
    assert view.json()["status"] == "active"
    assert set(view.json()) >= {"id", "email", "status", "roles", "created_at", "last_login_at"}
    missing = await api.client.get(
        "/internal/accounts/00000000-0000-0000-0000-000000000000", headers=api.bearer(token)
    )
    assert missing.status_code == 404
    # a service token is not a user
    assert (await api.me(token)).status_code == 403


async def test_deactivate_inactive_is_idempotent_and_revokes(
    api: Any, migrated_database: str, redis_url: str
) -> None:
    stale = [await api.register(f"stale{i}@example.com") for i in range(2)]
    fresh = await api.register("fresh@example.com")
    never = await api.register("never@example.com")
    connection = await asyncpg.connect(migrated_database)
    try:
        await connection.execute(
            "UPDATE auth.accounts SET last_login_at = now() - interval '100 days' "
            "WHERE email LIKE 'stale%'"
        )
        # never signed in after registering long ago: inactive since registration
        await connection.execute(
            "UPDATE auth.accounts SET last_login_at = NULL, "
            "created_at = now() - interval '100 days' WHERE email = 'never@example.com'"
        )
    finally:
        await connection.close()
    token = (await service_token(api)).json()["access_token"]
    cutoff = (datetime.now(UTC) - timedelta(days=90)).isoformat()

    first = await api.client.post(
        "/internal/accounts/deactivate-inactive", json={"cutoff": cutoff}, headers=api.bearer(token)
    )
    assert first.status_code == 200, first.text
    assert first.json() == {"disabled": 3}
    again = await api.client.post(
        "/internal/accounts/deactivate-inactive", json={"cutoff": cutoff}, headers=api.bearer(token)
    )
    assert again.json() == {"disabled": 0}

    for tokens in [*stale, never]:
        assert (await api.me(tokens["access_token"])).status_code == 401
    assert (await api.me(fresh["access_token"])).status_code == 200

    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        for _ in range(50):
            raw = await client.lrange("nova:celery:events", 0, -1)
            if len(raw) >= 7:
                break
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()
    disabled = []
    for item in raw:
        _, kwargs, _ = json.loads(base64.b64decode(json.loads(item)["body"]))
        if kwargs["event"]["type"] == "user.disabled":
            disabled.append(kwargs["event"])
    assert sorted(e["user_id"] for e in disabled) == sorted(
        t["account"]["id"] for t in [*stale, never]
    )
    assert all(e["data"] == {"reason": "inactive"} for e in disabled)

    bad = await api.client.post(
        "/internal/accounts/deactivate-inactive",
        json={"cutoff": "yesterday"},
        headers=api.bearer(token),
    )
    assert bad.status_code == 422


async def test_consumers_confirm_handled_events(api: Any, migrated_database: str) -> None:
    user = await api.register("confirmed@example.com")
    token = (await service_token(api)).json()["access_token"]
    connection = await asyncpg.connect(migrated_database)
    try:
        event_id = await connection.fetchval(
            "SELECT id FROM auth.outbox WHERE type = 'user.registered'"
        )
    finally:
        await connection.close()
    url = "/internal/events/confirmations"
    body = {"ids": [str(event_id)]}

    assert (await api.client.post(url, json=body)).status_code == 401
    as_user = await api.client.post(url, json=body, headers=api.bearer(user["access_token"]))
    assert as_user.status_code == 403
    assert as_user.json()["code"] == "service_token_required"

    first = await api.client.post(url, json=body, headers=api.bearer(token))
    assert first.status_code == 200, first.text
    assert first.json() == {"confirmed": 1}
    again = await api.client.post(
        url,
        json={"ids": [str(event_id), "00000000-0000-0000-0000-000000000000"]},
        headers=api.bearer(token),
    )
    assert again.json() == {"confirmed": 0}  # idempotent; unknown ids are ignored

    bad_bodies: list[dict[str, list[str]]] = [
        {"ids": []},
        {"ids": ["not-a-uuid"]},
        {"ids": [str(event_id)] * 201},
        {},
    ]
    for bad in bad_bodies:
        refused = await api.client.post(url, json=bad, headers=api.bearer(token))
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["code"] == "validation_error"
    connection = await asyncpg.connect(migrated_database)
    try:
        row = await connection.fetchrow(
            "SELECT confirmed_at, redeliver_at FROM auth.outbox WHERE id = $1", event_id
        )
    finally:
        await connection.close()
    assert row["confirmed_at"] is not None
    assert row["redeliver_at"] is None
