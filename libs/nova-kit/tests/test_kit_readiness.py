"""Readiness follows the real dependencies; liveness never does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from nova_kit.app import create_service_app
from nova_kit.embedded import EmbeddedPostgres, EmbeddedRedis
from nova_kit.settings import ServiceSettings


def make_app(database_url: str, redis_url: str) -> Litestar:
    settings = ServiceSettings(
        service_name="kit",
        environment="test",
        database_url=database_url,
        database_schema="kit",
        redis_url=redis_url,
        db_pool_timeout_seconds=1.0,
    )
    return create_service_app(settings, verify_tokens=False)


async def wait_for_status(
    client: AsyncTestClient[Litestar], status: int, timeout: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await client.get("/ready")
        if last.status_code == status:
            body: dict[str, Any] = last.json()
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"/ready never answered {status}; last: {last and last.text}")


async def test_postgres_outage_makes_ready_503_naming_it_and_recovers(
    disposable_postgres: EmbeddedPostgres, redis_url: str
) -> None:
    app = make_app(disposable_postgres.url, redis_url)
    async with AsyncTestClient(app) as client:
        await wait_for_status(client, 200)

        await asyncio.to_thread(disposable_postgres.stop, "immediate")
        started = time.monotonic()
        body = (await client.get("/ready")).json()
        assert time.monotonic() - started < 3, "readiness must not hang on a dead database"
        assert body["failing"] == ["database"]
        assert body["checks"]["redis"]["ok"] is True
        assert (await client.get("/health")).status_code == 200

        await asyncio.to_thread(disposable_postgres.start)
        body = await wait_for_status(client, 200)
        assert body["checks"]["database"]["ok"] is True


async def test_redis_outage_makes_ready_503_naming_it_and_recovers(
    disposable_redis: EmbeddedRedis, database_url: str
) -> None:
    app = make_app(database_url, disposable_redis.url)
    async with AsyncTestClient(app) as client:
        await wait_for_status(client, 200)

        await asyncio.to_thread(disposable_redis.stop)
        response = await client.get("/ready")
        assert response.status_code == 503
        assert response.json()["failing"] == ["redis"]
        assert "redis" in response.json()["message"]
        assert (await client.get("/health")).json() == {"status": "ok"}

        await asyncio.to_thread(disposable_redis.start)
        await wait_for_status(client, 200)
