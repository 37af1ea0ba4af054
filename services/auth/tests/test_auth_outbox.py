"""The account-event outbox: events reach the Celery queue once, even across a Redis outage."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from nova_auth.events import Outbox, Redelivery
from nova_kit.db import DatabaseConfig, async_url, create_engine, create_session_factory
from nova_kit.events import EVENT_TASKS

QUEUE_KEY = "nova:celery:events"


async def queued_events(redis_url: str) -> list[dict[str, Any]]:
    """The Celery messages waiting in the events queue, decoded."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        raw = await client.lrange(QUEUE_KEY, 0, -1)
    finally:
        await client.aclose()
    events = []
    for item in reversed(raw):  # LPUSHed: the oldest message is last
        message = json.loads(item)
        _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        events.append(
            {"task": message["headers"]["task"], "id": message["headers"]["id"], **kwargs}
        )
    return events


async def empty_queue(redis_url: str) -> None:
    """Messages an earlier test left on the shared events queue are not this test's."""
    client = Redis.from_url(redis_url)
    try:
        await client.delete(QUEUE_KEY)
    finally:
        await client.aclose()


async def wait_for_events(
    redis_url: str, count: int, timeout: float = 60.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            events = await queued_events(redis_url)
        except OSError:
            events = []
        if len(events) >= count:
            return events
        await asyncio.sleep(0.2)
    return events


async def outbox_rows(database_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(
            "SELECT id, type, user_id, data, published_at, attempts FROM auth.outbox "
            "ORDER BY occurred_at"
        )
        return rows
    finally:
        await connection.close()


async def test_events_follow_the_contract(
    api: Any, redis_url: str, migrated_database: str, make_admin: Any
) -> None:
    await empty_queue(redis_url)
    registered = await api.register("events@example.com", display_name="Evie")
    user_id = registered["account"]["id"]
    event, verification = await wait_for_events(redis_url, 2)
    row = (await outbox_rows(migrated_database))[0]
    assert event["task"] == EVENT_TASKS["user.registered"] == "nova.events.user_registered"
    assert event["id"] == event["event"]["id"] == str(row["id"])
    assert event["event"]["type"] == "user.registered"
    assert event["event"]["user_id"] == user_id
    assert event["event"]["data"] == {"email": "events@example.com", "display_name": "Evie"}
    datetime.fromisoformat(event["event"]["occurred_at"])
    assert row["published_at"] is not None
    # a new account's verification link goes out with its registration
    assert verification["task"] == "nova.events.user_verification_requested"
    assert verification["event"]["type"] == "user.verification_requested"
    assert verification["event"]["user_id"] == user_id
    assert set(verification["event"]["data"]) == {"email", "token", "expires_at"}

    # the display name defaults to the address's local part
    await api.register("local.part@example.com")
    events = await wait_for_events(redis_url, 4)
    assert events[-2]["event"]["data"]["display_name"] == "local.part"

    changed = await api.client.post(
        "/api/auth/change-password",
        json={"current_password": api.password, "new_password": "another good secret"},
        headers=api.bearer(registered["access_token"]),
    )
    assert changed.status_code == 200
    admin = await make_admin("root@example.com")
    await api.client.post(
        f"/api/auth/accounts/{user_id}/disable",
        json={"reason": "abuse"},
        headers=api.bearer(admin["access_token"]),
    )
    other = await api.register("leaver@example.com")
    deleted = await api.client.request(
        "DELETE",
        "/api/auth/me",
        json={"password": api.password},
        headers=api.bearer(other["access_token"]),
    )
    assert deleted.status_code == 204
    events = await wait_for_events(redis_url, 11)
    by_type = [(e["event"]["type"], e["event"]["user_id"], e["event"]["data"]) for e in events]
    assert ("user.password_changed", user_id, {}) in by_type
    assert ("user.disabled", user_id, {"reason": "abuse"}) in by_type
    assert ("user.deleted", other["account"]["id"], {}) in by_type
    assert len({e["id"] for e in events}) == len(events) == 11  # 4 registrations: 2 each
    assert all(r["published_at"] is not None for r in await outbox_rows(migrated_database))


async def test_registration_survives_a_redis_outage(
    make_client: Any, api_for: Any, disposable_redis: Any, migrated_database: str
) -> None:
    settings = {
        "redis_url": disposable_redis.url,
        "outbox_sweep_interval_seconds": 0.5,
        "outbox_publish_timeout_seconds": 1,
    }
    async with make_client(**settings) as client:
        api = api_for(client)
        disposable_redis.stop()
        started = time.monotonic()
        registered = await api.register("offline@example.com")
        assert time.monotonic() - started < 10
        row, _verification = await outbox_rows(migrated_database)
        assert row["published_at"] is None
        assert (await api.me(registered["access_token"])).status_code == 200

        disposable_redis.start()
        event, _ = await wait_for_events(disposable_redis.url, 2)
        assert event["event"]["type"] == "user.registered"
        assert event["event"]["user_id"] == registered["account"]["id"]
        assert event["id"] == str(row["id"])
        # published once, and marked so
        await asyncio.sleep(1.2)
        assert len(await queued_events(disposable_redis.url)) == 2
        rows = await outbox_rows(migrated_database)
        assert all(row["published_at"] is not None for row in rows)


async def test_two_sweepers_publish_each_event_exactly_once(
    migrated_database: str, redis_url: str, clean_state: None
) -> None:
    connection = await asyncpg.connect(migrated_database)
    try:
        ids = [uuid.uuid4() for _ in range(40)]
        await connection.executemany(
            "INSERT INTO auth.outbox (id, type, user_id, occurred_at, data) "
            "VALUES ($1, 'user.registered', $2, $3, $4)",
            [
                (
                    event_id,
                    uuid.uuid4(),
                    datetime.now(UTC),
                    json.dumps({"email": f"u{i}@example.com", "display_name": f"u{i}"}),
                )
                for i, event_id in enumerate(ids)
            ],
        )
    finally:
        await connection.close()

    config = DatabaseConfig(url=async_url(migrated_database), schema="auth")
    engines = [create_engine(config), create_engine(config)]
    outboxes = [
        Outbox.for_redis(create_session_factory(engine), redis_url, batch_size=5)
        for engine in engines
    ]

    async def drain(outbox: Outbox) -> int:
        total = 0
        for _ in range(50):
            published = await outbox.sweep()
            total += published
            if published == 0:
                break
        return total

    try:
        counts = await asyncio.gather(*(drain(outbox) for outbox in outboxes))
    finally:
        for outbox in outboxes:
            outbox.close()
        for engine in engines:
            await engine.dispose()
    assert sum(counts) == 40
    events = await queued_events(redis_url)
    assert sorted(e["id"] for e in events) == sorted(str(i) for i in ids)
    assert all(r["published_at"] is not None for r in await outbox_rows(migrated_database))


async def insert_events(database_url: str, count: int) -> list[uuid.UUID]:
    """Outbox rows as :func:`nova_auth.events.record_event` writes them."""
    connection = await asyncpg.connect(database_url)
    try:
        ids = [uuid.uuid4() for _ in range(count)]
        await connection.executemany(
            "INSERT INTO auth.outbox (id, type, user_id, occurred_at, data) "
            "VALUES ($1, 'user.registered', $2, $3, $4)",
            [
                (event_id, uuid.uuid4(), datetime.now(UTC), json.dumps({"email": f"r{i}@x.io"}))
                for i, event_id in enumerate(ids)
            ],
        )
    finally:
        await connection.close()
    return ids


def test_redelivery_waits_double_up_to_the_maximum_and_stop() -> None:
    policy = Redelivery(first_seconds=10, max_seconds=35, max_deliveries=5)
    assert [policy.wait_after(n) for n in range(1, 6)] == [10, 20, 35, 35, 35]
    assert [policy.exhausted(n) for n in (4, 5, 6)] == [False, True, True]
    assert Redelivery(first_seconds=0).wait_after(1) is None
    assert not Redelivery(first_seconds=0).enabled


def abandoned_total() -> float:
    value = REGISTRY.get_sample_value(
        "nova_auth_outbox_abandoned_total", {"type": "user.registered"}
    )
    return value or 0.0


async def test_unconfirmed_events_are_published_again_until_confirmed(
    migrated_database: str, redis_url: str, clean_state: None
) -> None:
    confirmed_id, lost_id, late_id = await insert_events(migrated_database, 3)
    config = DatabaseConfig(url=async_url(migrated_database), schema="auth")
    engine = create_engine(config)
    outbox = Outbox.for_redis(
        create_session_factory(engine),
        redis_url,
        redelivery=Redelivery(first_seconds=0.4, max_seconds=0.4, max_deliveries=3),
    )
    abandoned = abandoned_total()
    try:
        assert await outbox.sweep() == 3
        assert await outbox.sweep() == 0  # not due yet
        assert await outbox.confirm([confirmed_id]) == 1
        assert await outbox.confirm([confirmed_id, uuid.uuid4()]) == 0  # again, and unknown
        await asyncio.sleep(0.5)
        assert await outbox.sweep() == 2  # only the unconfirmed ones
        await asyncio.sleep(0.5)
        assert await outbox.sweep() == 2  # third and last delivery
        assert await outbox.confirm([late_id]) == 1  # the last delivery was handled
        await asyncio.sleep(0.5)
        assert await outbox.sweep() == 0  # the budget is spent: given up, not published
        assert abandoned_total() == abandoned + 1  # the lost one only
        await asyncio.sleep(0.5)
        assert await outbox.sweep() == 0
        rows = {
            row["id"]: row
            for row in await asyncpg_fetch(
                migrated_database,
                "SELECT id, deliveries, confirmed_at, redeliver_at FROM auth.outbox",
            )
        }
        # kept while deliveries may follow; then purged like any other published row
        assert await outbox.purge_published(keep_seconds=0) == 3
    finally:
        outbox.close()
        await engine.dispose()

    assert abandoned_total() == abandoned + 1
    assert rows[confirmed_id]["deliveries"] == 1
    assert rows[confirmed_id]["confirmed_at"] is not None
    assert rows[confirmed_id]["redeliver_at"] is None
    assert rows[late_id]["deliveries"] == 3
    assert rows[late_id]["confirmed_at"] is not None
    assert rows[lost_id]["deliveries"] == 3
    assert rows[lost_id]["confirmed_at"] is None
    assert rows[lost_id]["redeliver_at"] is None
    queued = [event["id"] for event in await queued_events(redis_url)]
    assert sorted(queued) == sorted([str(confirmed_id)] + [str(lost_id)] * 3 + [str(late_id)] * 3)


async def test_rows_awaiting_redelivery_are_not_purged(
    migrated_database: str, redis_url: str, clean_state: None
) -> None:
    [event_id] = await insert_events(migrated_database, 1)
    config = DatabaseConfig(url=async_url(migrated_database), schema="auth")
    engine = create_engine(config)
    outbox = Outbox.for_redis(create_session_factory(engine), redis_url)
    try:
        assert await outbox.sweep() == 1
        assert await outbox.purge_published(keep_seconds=0) == 0
        assert await outbox.confirm([event_id]) == 1
        assert await outbox.purge_published(keep_seconds=0) == 1
    finally:
        outbox.close()
        await engine.dispose()


async def asyncpg_fetch(database_url: str, query: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query)
        return rows
    finally:
        await connection.close()
