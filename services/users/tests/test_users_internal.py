"""Internal API for other Nova services, and the idempotency of profile creation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]


async def profile_rows(database_url: str, user_id: uuid.UUID) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(
            "SELECT * FROM users.profiles WHERE id = $1", user_id
        )
        return rows
    finally:
        await connection.close()


async def test_ten_concurrent_upserts_create_one_profile(
    client: Client, callers: Any, migrated: str
) -> None:
    service = callers.service()
    user_id = uuid.uuid4()

    async def upsert(index: int) -> Any:
        return await client.put(
            f"/internal/profiles/{user_id}",
            json={"display_name": f"Name {index}", "locale": "de-DE"},
            headers=service.headers,
        )

    responses = await asyncio.gather(*(upsert(index) for index in range(10)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 9 + [201], [r.text for r in responses]
    rows = await profile_rows(migrated, user_id)
    assert len(rows) == 1
    winner = next(r for r in responses if r.status_code == 201).json()["display_name"]
    assert rows[0]["display_name"] == winner
    assert {response.json()["display_name"] for response in responses} == {winner}
    assert rows[0]["locale"] == "de-DE"


async def test_me_before_the_event_creates_the_profile_and_the_event_changes_nothing(
    client: Client, callers: Any, migrated: str
) -> None:
    alice = callers.user()
    me = await client.get("/api/users/me", headers=alice.headers)
    assert me.status_code == 200
    changed = await client.patch(
        "/api/users/me", headers=alice.headers, json={"display_name": "Alice"}
    )
    assert changed.status_code == 200

    late = await client.put(
        f"/internal/profiles/{alice.user_id}",
        json={"display_name": "alice@example.com", "locale": "en-US"},
        headers=callers.service().headers,
    )
    assert late.status_code == 200
    assert late.json()["display_name"] == "Alice"
    assert late.json()["locale"] is None
    rows = await profile_rows(migrated, alice.user_id)
    assert len(rows) == 1
    assert rows[0]["display_name"] == "Alice"
    assert rows[0]["updated_at"] == datetime.fromisoformat(changed.json()["updated_at"])


async def test_the_event_first_then_me_returns_the_seeded_profile(
    client: Client, callers: Any
) -> None:
    alice = callers.user()
    created = await client.put(
        f"/internal/profiles/{alice.user_id}",
        json={"display_name": "Alice A.", "locale": "en_gb"},
        headers=callers.service().headers,
    )
    assert created.status_code == 201
    assert created.json()["locale"] == "en-GB"
    me = (await client.get("/api/users/me", headers=alice.headers)).json()
    assert (me["display_name"], me["locale"]) == ("Alice A.", "en-GB")


async def test_internal_upsert_adjusts_the_seed_and_refuses_bad_shapes(
    client: Client, callers: Any
) -> None:
    service = callers.service()

    async def seed(payload: Any) -> Any:
        return await client.put(
            f"/internal/profiles/{uuid.uuid4()}", json=payload, headers=service.headers
        )

    for payload, field in (
        ({"display_name": 42}, "display_name"),
        ({"display_name": "A", "locale": 7}, "locale"),
        ({"display_name": "A", "email": "a@example.com"}, "email"),
    ):
        response = await seed(payload)
        assert response.status_code == 422, response.text
        assert [entry["field"] for entry in response.json()["details"]] == [field]

    long_name = await seed({"display_name": "  " + "n" * 100, "locale": "xx-NOWHERE"})
    assert long_name.status_code == 201
    assert long_name.json()["display_name"] == "n" * 64
    assert long_name.json()["locale"] is None
    blank = await seed({"display_name": " \u0000\t "})
    assert blank.json()["display_name"] == "New user"
    spaced = await seed({"display_name": "Ada\nLovelace", "locale": "pt_br"})
    assert (spaced.json()["display_name"], spaced.json()["locale"]) == ("Ada Lovelace", "pt-BR")
    defaulted = await seed({})
    assert defaulted.status_code == 201
    assert defaulted.json()["display_name"] == "New user"


async def test_internal_delete_is_idempotent_and_wins_over_a_late_registration(
    client: Client, callers: Any, migrated: str
) -> None:
    service = callers.service()
    alive, never_seen = uuid.uuid4(), uuid.uuid4()
    await client.put(
        f"/internal/profiles/{alive}", json={"display_name": "A"}, headers=service.headers
    )

    for _ in range(3):
        response = await client.delete(f"/internal/profiles/{alive}", headers=service.headers)
        assert response.status_code == 204
    first_deleted_at = (await profile_rows(migrated, alive))[0]["deleted_at"]
    assert first_deleted_at is not None
    again = await client.delete(f"/internal/profiles/{alive}", headers=service.headers)
    assert again.status_code == 204
    assert (await profile_rows(migrated, alive))[0]["deleted_at"] == first_deleted_at
    assert (await client.get(f"/api/users/{alive}")).status_code == 404

    # user.deleted handled before user.registered: the profile stays deleted
    gone = await client.delete(f"/internal/profiles/{never_seen}", headers=service.headers)
    assert gone.status_code == 204
    late = await client.put(
        f"/internal/profiles/{never_seen}", json={"display_name": "B"}, headers=service.headers
    )
    assert late.status_code == 200
    assert late.json()["deleted_at"] is not None
    assert (await client.get(f"/api/users/{never_seen}")).status_code == 404


async def metric(client: Client, change: str) -> float:
    text = (await client.get("/metrics")).text
    prefix = f'nova_users_profile_changes_total{{change="{change}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


async def test_profile_changes_are_counted_by_kind(client: Client, callers: Any) -> None:
    before = {
        change: await metric(client, change)
        for change in ("created_on_event", "created_on_first_read", "updated", "deleted")
    }
    service, alice = callers.service(), callers.user()
    await client.put(
        f"/internal/profiles/{uuid.uuid4()}", json={"display_name": "A"}, headers=service.headers
    )
    await client.get("/api/users/me", headers=alice.headers)
    await client.get("/api/users/me", headers=alice.headers)
    await client.patch("/api/users/me", json={"bio": "hi"}, headers=alice.headers)
    await client.delete("/api/users/me", headers=alice.headers)
    await client.delete("/api/users/me", headers=alice.headers)
    after = {change: await metric(client, change) for change in before}
    assert {change: after[change] - before[change] for change in before} == {
        "created_on_event": 1,
        "created_on_first_read": 1,
        "updated": 1,
        "deleted": 1,
    }
