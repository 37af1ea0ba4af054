"""Token authentication and guards as a client sees them over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient

from nova_kit.app import create_service_app
from nova_kit.security import requires_admin, requires_service, requires_user
from nova_kit.settings import ServiceSettings
from nova_kit.testing.tokens import TokenFactory
from nova_kit.tokens import AccessClaims


@get("/public", sync_to_thread=False)
def public() -> dict[str, str]:
    return {"hello": "world"}


@get("/mine", guards=[requires_user], sync_to_thread=False)
def mine(claims: NamedDependency[AccessClaims]) -> dict[str, str]:
    return {"subject": claims.subject}


@get("/admin-only", guards=[requires_admin], sync_to_thread=False)
def admin_only() -> dict[str, bool]:
    return {"admin": True}


@get("/internal/ping", guards=[requires_service], sync_to_thread=False)
def internal_ping(claims: NamedDependency[AccessClaims]) -> dict[str, str]:
    return {"service": claims.subject}


@pytest.fixture
async def factory_and_client(
    redis_url: str,
) -> AsyncIterator[tuple[TokenFactory, AsyncTestClient[Litestar]]]:
    factory = TokenFactory()
    settings = ServiceSettings(service_name="kit", environment="test", redis_url=redis_url)
    app = create_service_app(
        settings,
        route_handlers=[public, mine, admin_only, internal_ping],
        uses_database=False,
        key_source=lambda _runtime: factory.key_source(),
    )
    async with AsyncTestClient(app) as client:
        yield factory, client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_permission_matrix(
    factory_and_client: tuple[TokenFactory, AsyncTestClient[Litestar]],
) -> None:
    factory, client = factory_and_client
    user = bearer(factory.mint("user-1"))
    admin = bearer(factory.mint("admin-1", roles=["user", "admin"]))
    service = bearer(factory.service_token("worker"))

    assert (await client.get("/public")).status_code == 200
    anonymous = await client.get("/mine")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")

    assert (await client.get("/mine", headers=user)).json() == {"subject": "user-1"}
    assert (await client.get("/mine", headers=service)).status_code == 403
    assert (await client.get("/admin-only", headers=user)).json()["code"] == "admin_required"
    assert (await client.get("/admin-only", headers=admin)).status_code == 200
    assert (await client.get("/internal/ping", headers=user)).status_code == 403
    assert (await client.get("/internal/ping", headers=admin)).status_code == 403
    assert (await client.get("/internal/ping", headers=service)).json() == {
        "service": "service:worker"
    }


async def test_a_bad_token_is_401_even_on_public_routes(
    factory_and_client: tuple[TokenFactory, AsyncTestClient[Litestar]],
) -> None:
    factory, client = factory_and_client
    expired = factory.mint("u", lifetime=-60, iat=0)
    for headers in (bearer(expired), bearer("not-a-jwt"), {"Authorization": "Basic abc"}):
        response = await client.get("/public", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"
        assert "error=" in response.headers["www-authenticate"]


async def test_a_token_whose_revocation_cannot_be_checked_is_a_503_when_failing_closed() -> None:
    import socket

    factory = TokenFactory()
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers: Redis hung
    try:
        settings = ServiceSettings(
            service_name="kit",
            environment="test",
            redis_url=f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
            revocation_fail_closed=True,
        )
        app = create_service_app(
            settings,
            route_handlers=[public, mine],
            uses_database=False,
            key_source=lambda _runtime: factory.key_source(),
        )
        async with AsyncTestClient(app) as client:
            response = await client.get("/mine", headers=bearer(factory.mint("u1", session_id="s")))
    finally:
        silent.close()
    assert response.status_code == 503
    assert response.json()["code"] == "token_check_unavailable"
    assert response.headers["retry-after"] == "1"
    assert "www-authenticate" not in response.headers  # the token is not known to be bad


async def test_an_edge_for_users_only_refuses_service_tokens(redis_url: str) -> None:
    factory = TokenFactory()
    settings = ServiceSettings(service_name="kit", environment="test", redis_url=redis_url)
    app = create_service_app(
        settings,
        route_handlers=[public, mine],
        uses_database=False,
        user_tokens_only=True,
        key_source=lambda _runtime: factory.key_source(),
    )
    async with AsyncTestClient(app) as client:
        service = factory.mint("nova-worker", kind="service", roles=["service"])
        refused = await client.get("/public", headers=bearer(service))
        user = await client.get("/mine", headers=bearer(factory.mint("u1")))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    assert user.status_code == 200
