"""Fixtures of the nova-auth tests: a migrated database, settings, and a running app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from nova_auth.app import create_app
from nova_auth.config import AuthSettings
from nova_auth.state import AuthState, build_auth_state, provide_auth_state
from nova_kit.db import DatabaseConfig, async_url
from nova_kit.migrations import upgrade
from nova_kit.testing.oidc import RunningProvider, run_provider, sign_in_at_provider
from nova_kit.testing.plugin import truncate_schema

MIGRATIONS = Path(__file__).parents[1] / "src" / "nova_auth" / "migrations"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> str:
    upgrade(MIGRATIONS, DatabaseConfig(url=async_url(database_url), schema="auth"))
    return database_url


SettingsFactory = Callable[..., AuthSettings]


@pytest.fixture
def make_settings(migrated_database: str, redis_url: str) -> SettingsFactory:
    def make(**overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": migrated_database,
            "redis_url": redis_url,
            "log_json": True,
            "argon2_memory_kib": 19_456,
            "argon2_time_cost": 2,
            "argon2_parallelism": 1,
            "outbox_sweep_interval_seconds": 60,
            "outbox_publish_timeout_seconds": 2,
            # Redis is up in these tests: a machine too busy to hear it within the production
            # default must not turn a limit's decision into the unavailable rule's.
            "rate_limit_timeout_seconds": 5,
        }
        values.update(overrides)
        return AuthSettings(**values)

    return make


@pytest.fixture
async def clean_state(migrated_database: str, redis_client: Any) -> None:
    """Every test starts with empty auth tables and an empty Redis database."""
    await truncate_schema(migrated_database, "auth")


ClientFactory = Callable[..., Any]


@pytest.fixture
def make_client(make_settings: SettingsFactory, clean_state: None) -> Callable[..., Any]:
    """``async with make_client(**settings) as client`` — an app on its own settings."""
    return lambda **overrides: AsyncTestClient(
        create_app(make_settings(**overrides)), base_url=TEST_BASE_URL
    )


@pytest.fixture
async def client(make_client: ClientFactory) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with make_client() as client:
        yield client


class AuthApi:
    """A client of one running app, with the calls most tests make."""

    password = PASSWORD

    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.client = client

    @property
    def state(self) -> AuthState:
        """The app's process-wide state (signing keys, hashing pool, database sessions)."""
        return provide_auth_state(self.client.app.state)

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def register(self, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
        """Register (202, the same answer for any address), then sign in: the tokens."""
        response = await self.client.post(
            "/api/auth/register", json={"email": email, "password": password, **extra}
        )
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "accepted"
        signed_in = await self.login(email, password)
        assert signed_in.status_code == 200, signed_in.text
        body: dict[str, Any] = signed_in.json()
        return body

    async def login(self, email: str, password: str = PASSWORD) -> Any:
        return await self.client.post(
            "/api/auth/login", json={"email": email, "password": password}
        )

    async def me(self, token: str) -> Any:
        return await self.client.get("/api/auth/me", headers=self.bearer(token))

    async def gql(self, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers=self.bearer(token) if token else {},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def api(client: AsyncTestClient[Litestar]) -> AuthApi:
    return AuthApi(client)


@pytest.fixture
def api_for() -> Callable[[AsyncTestClient[Litestar]], AuthApi]:
    return AuthApi


@pytest.fixture
def make_admin(api: AuthApi, migrated_database: str) -> Callable[[str], Any]:
    """Register an account, grant it the admin role, and sign it in (answers the tokens)."""

    async def make(email: str) -> dict[str, Any]:
        await api.register(email)
        connection = await asyncpg.connect(migrated_database)
        try:
            await connection.execute(
                "UPDATE auth.accounts SET roles = ARRAY['admin', 'user'] WHERE email = $1", email
            )
        finally:
            await connection.close()
        response = await api.login(email)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return make


@pytest.fixture
async def direct_state(
    make_settings: SettingsFactory, clean_state: None
) -> AsyncIterator[AuthState]:
    """The service's state on this test's event loop (for service-level checks)."""
    import httpx

    from nova_auth.app import build_key_ring
    from nova_kit import db
    from nova_kit.app import Runtime
    from nova_kit.redis import create_redis

    settings = make_settings()
    assert settings.redis_url is not None
    engine = db.create_engine(db.DatabaseConfig.from_settings(settings))
    redis = create_redis(settings.redis_url.get_secret_value())
    runtime = Runtime(
        settings=settings,
        http=httpx.AsyncClient(),
        engine=engine,
        sessions=db.create_session_factory(engine),
        redis=redis,
    )
    state = build_auth_state(settings, runtime, build_key_ring(settings))
    try:
        yield state
    finally:
        state.close()
        await runtime.http.aclose()
        await redis.aclose()
        await engine.dispose()


# --- a real OpenID provider (nova_kit.testing.oidc) -------------------------------------------

OIDC_PROVIDER_PACKAGE = Path(__file__).parent / "oidc_provider"
TEST_BASE_URL = "http://testserver.local"


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[RunningProvider]:
    """The provider, with one client that returns to the test apps' callback."""
    callback = f"{TEST_BASE_URL}/api/auth/oidc/test/callback"
    with run_provider(OIDC_PROVIDER_PACKAGE, [callback]) as provider:
        yield provider


ProviderLogin = Callable[[str, str], Any]


@pytest.fixture
def provider_login() -> ProviderLogin:
    """``await provider_login(authorization_url, login)``: the callback URL the provider sends
    the browser back to, after signing in as ``login`` and consenting."""
    return lambda url, login: sign_in_at_provider(url, login, TEST_BASE_URL)
