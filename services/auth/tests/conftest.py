"""Fixtures of the nova-auth tests: a migrated database, settings, and a running app."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from nova_auth.app import create_app
from nova_auth.config import AuthSettings
from nova_auth.state import AuthState, build_auth_state, provide_auth_state
from nova_kit.db import DatabaseConfig, async_url
from nova_kit.embedded import free_port
from nova_kit.migrations import upgrade
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


# --- a real OpenID provider: panva's certified ``oidc-provider`` (npm) on loopback ------------

OIDC_PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
TEST_BASE_URL = "http://testserver.local"
CLIENT_ID = "nova-test"
CLIENT_SECRET = "nova-test-client-secret-0123456789"
_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
_PROMPT = re.compile(r'name="prompt" value="([a-z]+)"')


@dataclass(frozen=True, slots=True)
class RunningProvider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


@contextmanager
def run_provider(redirect_uris: list[str]) -> Iterator[RunningProvider]:
    """Start the provider with one client allowed to return to ``redirect_uris``."""
    if not (OIDC_PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(f"{OIDC_PROVIDER_DIR / 'node_modules'} is missing: run `make setup`")
    port = free_port()
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
        "NODE_ENV": "development",
    }
    process = subprocess.Popen(
        ["node", str(OIDC_PROVIDER_DIR / "provider.mjs")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        issuer = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"the OpenID provider exited: {output}")
            try:
                httpx.get(
                    f"{issuer}/.well-known/openid-configuration", timeout=1
                ).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the OpenID provider did not start in 30 s")
        yield RunningProvider(issuer)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


async def sign_in_at_provider(authorization_url: str, login: str, return_to: str) -> str:
    """Do what a person does at the provider: sign in as ``login`` (the development login
    form takes any password) and consent; answers the URL it sends the browser back to."""
    async with httpx.AsyncClient(timeout=10) as browser:
        url = authorization_url
        for _ in range(12):
            if url.startswith(return_to):
                return url
            response = await browser.get(url)
            while response.status_code in (302, 303):
                url = str(response.url.join(response.headers["location"]))
                if url.startswith(return_to):
                    return url
                response = await browser.get(url)
            action, prompt = _FORM_ACTION.search(response.text), _PROMPT.search(response.text)
            assert response.status_code == 200, response.text[:500]
            assert action is not None, response.text[:500]
            assert prompt is not None, response.text[:500]
            form = {"prompt": prompt.group(1)}
            if prompt.group(1) == "login":
                form |= {"login": login, "password": "any password"}
            posted = await browser.post(action.group(1), data=form)
            assert posted.status_code in (302, 303), posted.text[:500]
            url = str(posted.url.join(posted.headers["location"]))
        raise AssertionError("the provider never sent the browser back")


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[RunningProvider]:
    """The provider, with one client that returns to the test apps' callback."""
    with run_provider([f"{TEST_BASE_URL}/api/auth/oidc/test/callback"]) as provider:
        yield provider


ProviderLogin = Callable[[str, str], Any]


@pytest.fixture
def provider_login() -> ProviderLogin:
    """``await provider_login(authorization_url, login)``: the callback URL the provider sends
    the browser back to, after signing in as ``login`` and consenting."""
    return lambda url, login: sign_in_at_provider(url, login, TEST_BASE_URL)
