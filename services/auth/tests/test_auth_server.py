"""``nova-auth serve`` as a real process: concurrent refreshes of one token, readiness."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest


@pytest.mark.slow
async def test_twenty_concurrent_refreshes_on_a_real_server(
    start_service: Any, unused_port: int, migrated_database: str, redis_url: str, clean_state: None
) -> None:
    env = {
        "NOVA_ENVIRONMENT": "test",
        "DATABASE_URL": migrated_database,
        "REDIS_URL": redis_url,
        "NOVA_AUTH_LOG_LEVEL": "WARNING",
    }
    argv = ["nova-auth", "serve", "--port", str(unused_port)]
    start_service("auth", argv, env=env, port=unused_port)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{unused_port}", timeout=30) as client:
        ready = await client.get("/ready")
        assert ready.json()["checks"]["database"]["ok"] is True
        credentials = {"email": "parallel@example.com", "password": "correct horse battery staple"}
        registered = await client.post("/api/auth/register", json=credentials)
        assert registered.status_code == 202
        signed_in = await client.post("/api/auth/login", json=credentials)
        token = signed_in.json()["refresh_token"]
        responses = await asyncio.gather(
            *(client.post("/api/auth/refresh", json={"refresh_token": token}) for _ in range(20))
        )
        statuses = [r.status_code for r in responses]
        assert statuses.count(200) == 1, statuses
        assert statuses.count(409) == 19, statuses
        access = next(r for r in responses if r.status_code == 200).json()["access_token"]
        me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 200
        assert me.json()["email"] == "parallel@example.com"
