"""The real thing: ``nova-users migrate`` and ``nova-users serve`` as processes, tokens checked
against a JWKS endpoint over HTTP, and the migrations matching the models."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from nova_kit.db import async_url
from nova_kit.testing.tokens import JWKSServer, TokenFactory
from nova_users.models import Base


@pytest.fixture
def jwks_url(token_factory: TokenFactory) -> Iterator[str]:
    with JWKSServer(token_factory.jwks()) as server:
        yield server.url


def test_served_process_verifies_tokens_from_the_jwks_url(
    migrated: str,
    redis_url: str,
    jwks_url: str,
    token_factory: TokenFactory,
    start_service: Any,
    unused_port: int,
) -> None:
    env = {
        "NOVA_ENVIRONMENT": "test",
        "NOVA_USERS_DATABASE_URL": migrated,
        "NOVA_USERS_REDIS_URL": redis_url,
        "NOVA_USERS_JWKS_URL": jwks_url,
    }
    migrate = start_service("users-migrate", ["nova-users", "migrate"], env=env, wait=None)
    assert migrate.process is not None
    assert migrate.process.wait(120) == 0, migrate.tail()
    assert "schema users at revision 0001" in migrate.tail()

    service = start_service(
        "users", ["nova-users", "serve", "--port", str(unused_port)], env=env, port=unused_port
    )
    base = service.base_url
    user_id = uuid.uuid4()
    token = token_factory.mint(str(user_id))
    me = httpx.get(f"{base}/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(user_id)

    forged = TokenFactory(kid=token_factory.kid).mint(str(user_id))
    refused = httpx.get(f"{base}/api/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")

    ready = httpx.get(f"{base}/ready").json()
    assert ready["checks"]["database"]["ok"] is True
    sdl = httpx.post(f"{base}/graphql", json={"query": "{ _service { sdl } }"}).json()
    assert 'type User @key(fields: "id")' in sdl["data"]["_service"]["sdl"]


def test_sigterm_drains_before_the_server_stops(
    migrated: str,
    redis_url: str,
    jwks_url: str,
    token_factory: TokenFactory,
    start_service: Any,
    unused_port: int,
) -> None:
    """After SIGTERM: /ready says draining at once, requests are still served during the
    shutdown delay, then the process exits (a clean exit re-raises the SIGTERM it caught)."""
    env = {
        "NOVA_ENVIRONMENT": "test",
        "NOVA_USERS_DATABASE_URL": migrated,
        "NOVA_USERS_REDIS_URL": redis_url,
        "NOVA_USERS_JWKS_URL": jwks_url,
        "NOVA_USERS_SHUTDOWN_DELAY_SECONDS": "2",
    }
    argv = ["nova-users", "serve", "--port", str(unused_port)]
    service = start_service("users-drain", argv, env=env, port=unused_port)
    assert service.process is not None
    token = token_factory.mint(str(uuid.uuid4()))
    with httpx.Client(base_url=service.base_url, timeout=5) as client:
        assert client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).is_success
        signalled = time.monotonic()
        service.signal(signal.SIGTERM)
        time.sleep(0.3)
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "draining"
        served = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert served.status_code == 200, served.text
        assert served.headers["connection"] == "close"
    code = service.process.wait(30)
    elapsed = time.monotonic() - signalled
    assert code in (0, -signal.SIGTERM), service.tail()
    assert 1.9 <= elapsed < 25, elapsed


async def test_migrations_match_the_models(migrated: str) -> None:
    # a plain connection (search_path public), so the users schema is compared by name
    engine = create_async_engine(async_url(migrated), poolclass=NullPool)

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "version_table_schema": "users",
                "include_name": lambda name, type_, _parent: type_ != "schema" or name == "users",
                "compare_type": True,
            },
        )
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []
