"""One policy for bad request bodies in every service: the same malformed or schema-invalid JSON
gets the same status and ``code`` from auth and users (nova_kit.errors, ADR 0013)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

import nova_auth
import nova_users
from nova_auth.app import create_app as create_auth_app
from nova_auth.config import AuthSettings
from nova_kit import migrations
from nova_kit.db import DatabaseConfig, async_url
from nova_kit.testing.tokens import TokenFactory
from nova_users.app import create_app as create_users_app
from nova_users.config import UsersSettings

MALFORMED: list[bytes] = [b"{not json", b'{"display_name": "a', b"\xff\xfe{}"]
"""Bodies that cannot be read: 400 ``bad_request``."""

SCHEMA_INVALID: list[Any] = [
    [1, 2],
    "text",
    42,
    None,
    {"unexpected_field": True},
    {"display_name": 42, "email": 42, "password": 42},
]
"""JSON that parses but breaks the body's schema: 422 ``validation_error``."""


def _migrations(package: Any) -> Path:
    return Path(package.__file__).parent / "migrations"


@pytest.fixture(scope="module")
async def clients(
    database_url: str, redis_url: str
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], AsyncTestClient[Litestar], str]]:
    """auth and users, each on its migrated schema, and a user token users accepts."""
    for package, schema in ((nova_auth, "auth"), (nova_users, "users")):
        config = DatabaseConfig(url=async_url(database_url), schema=schema)
        await asyncio.to_thread(migrations.upgrade, _migrations(package), config)
    tokens = TokenFactory()
    auth = create_auth_app(
        AuthSettings(
            environment="test",
            database_url=database_url,
            redis_url=redis_url,
            log_level="WARNING",
            outbox_sweep_interval_seconds=60,
        )
    )
    users = create_users_app(
        UsersSettings(
            environment="test",
            database_url=database_url,
            redis_url=redis_url,
            log_level="WARNING",
        ),
        key_source=lambda _runtime: tokens.key_source(),
    )
    async with AsyncTestClient(auth) as auth_client, AsyncTestClient(users) as users_client:
        yield auth_client, users_client, tokens.mint(str(uuid.uuid4()), roles=["user"])


async def _answers(
    clients: tuple[AsyncTestClient[Litestar], AsyncTestClient[Litestar], str], body: bytes
) -> tuple[dict[str, Any], dict[str, Any], int, int]:
    auth, users, token = clients
    headers = {"Content-Type": "application/json"}
    from_auth = await auth.post("/api/auth/login", content=body, headers=headers)
    from_users = await users.patch(
        "/api/users/me", content=body, headers={**headers, "Authorization": f"Bearer {token}"}
    )
    return from_auth.json(), from_users.json(), from_auth.status_code, from_users.status_code


@pytest.mark.parametrize("body", MALFORMED)
async def test_a_malformed_body_is_the_same_400_in_auth_and_users(
    clients: tuple[AsyncTestClient[Litestar], AsyncTestClient[Litestar], str], body: bytes
) -> None:
    auth, users, auth_status, users_status = await _answers(clients, body)
    assert (auth_status, auth["code"]) == (400, "bad_request"), auth
    assert (users_status, users["code"]) == (400, "bad_request"), users


@pytest.mark.parametrize("payload", SCHEMA_INVALID)
async def test_a_schema_invalid_body_is_the_same_422_in_auth_and_users(
    clients: tuple[AsyncTestClient[Litestar], AsyncTestClient[Litestar], str], payload: Any
) -> None:
    auth, users, auth_status, users_status = await _answers(clients, json.dumps(payload).encode())
    assert (auth_status, auth["code"]) == (422, "validation_error"), auth
    assert (users_status, users["code"]) == (422, "validation_error"), users
    assert auth["details"]
    assert users["details"]
    if payload == {"unexpected_field": True}:
        # an unknown field is named the same way by both
        unknown = {
            "field": "unexpected_field",
            "message": "Object contains unknown field `unexpected_field`",
        }
        assert auth["details"] == users["details"] == [unknown]
