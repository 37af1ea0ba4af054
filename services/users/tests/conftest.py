"""Fixtures of the nova-users tests: a migrated real database, real Redis, signed tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from nova_kit import migrations
from nova_kit.db import DatabaseConfig
from nova_kit.testing.plugin import truncate_schema
from nova_kit.testing.tokens import TokenFactory
from nova_users.app import create_app
from nova_users.cli import MIGRATIONS
from nova_users.config import UsersSettings


@pytest.fixture(scope="session")
def token_factory() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
def users_settings(database_url: str, redis_url: str) -> UsersSettings:
    return UsersSettings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        log_level="WARNING",
    )


@pytest.fixture(scope="session")
async def migrated(users_settings: UsersSettings) -> str:
    database = DatabaseConfig.from_settings(users_settings)
    await asyncio.to_thread(migrations.upgrade, MIGRATIONS, database)
    assert users_settings.database_url is not None
    return users_settings.database_url.get_secret_value()


@pytest.fixture
async def users_app(
    migrated: str, users_settings: UsersSettings, token_factory: TokenFactory
) -> Litestar:
    await truncate_schema(migrated, "users")
    return create_app(users_settings, key_source=lambda _runtime: token_factory.key_source())


@pytest.fixture
async def client(users_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(users_app) as test_client:
        yield test_client


@dataclass
class Caller:
    """Someone calling the API: anonymous, a user, an administrator or a service."""

    name: str
    user_id: uuid.UUID | None
    token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class Callers:
    factory: TokenFactory

    def anonymous(self) -> Caller:
        return Caller("anonymous", None, None)

    def user(self, user_id: uuid.UUID | None = None, **claims: Any) -> Caller:
        user_id = user_id or uuid.uuid4()
        return Caller("user", user_id, self.factory.mint(str(user_id), roles=["user"], **claims))

    def admin(self, user_id: uuid.UUID | None = None) -> Caller:
        user_id = user_id or uuid.uuid4()
        return Caller("admin", user_id, self.factory.mint(str(user_id), roles=["user", "admin"]))

    def service(self, name: str = "worker") -> Caller:
        return Caller("service", None, self.factory.service_token(name))


@pytest.fixture
def callers(token_factory: TokenFactory) -> Callers:
    return Callers(token_factory)


GraphQL = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def gql(client: AsyncTestClient[Litestar]) -> GraphQL:
    """``await gql(query, variables, caller)`` → the GraphQL response body (HTTP 200 asserted)."""

    async def run(
        query: str, variables: dict[str, Any] | None = None, caller: Caller | None = None
    ) -> dict[str, Any]:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=caller.headers if caller else {},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return run


def codes_of(body: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


@pytest.fixture
def error_codes() -> Callable[[dict[str, Any]], list[str | None]]:
    """The ``extensions.code`` of each error of a GraphQL response."""
    return codes_of
