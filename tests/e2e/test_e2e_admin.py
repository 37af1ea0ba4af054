"""The model admins through the gateway, to the real auth and users services: every admin route
refused to a user, an administrator's browser session (cookies) opening the pages, and an
account disabled in the admin whose tokens then stop working at the gateway."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from nova_auth.app import create_app as create_auth_app
from nova_auth.config import AuthSettings
from nova_kit.admin import admin_site_of
from nova_kit.testing.stack import Stack
from nova_users.app import create_app as create_users_app
from nova_users.config import UsersSettings

PASSWORD = "correct horse battery staple"
BROWSER = {"X-Nova-Session": "cookie", "X-Nova-CSRF": "1"}


def admin_routes(build: Callable[[], Litestar]) -> list[tuple[str, str]]:
    """Every route of a service's model admin, read from the app itself once it has started."""
    with TestClient(build()) as client:
        return admin_site_of(client.app).route_samples()


def run_sql(database_url: str, query: str, *args: Any) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(query, *args)
        finally:
            await connection.close()

    asyncio.run(run())


def register(client: httpx.Client, email: str) -> dict[str, Any]:
    assert client.post("/api/auth/register", json={"email": email, "password": PASSWORD}).is_success
    signed_in = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    tokens: dict[str, Any] = signed_in.json()
    return tokens


@pytest.fixture(scope="module")
def every_admin_route(database_url: str, redis_url: str) -> list[tuple[str, str]]:
    common: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "log_level": "WARNING",
    }
    return [
        *admin_routes(lambda: create_auth_app(AuthSettings(**common))),
        *admin_routes(lambda: create_users_app(UsersSettings(**common))),
    ]


def test_a_user_is_refused_on_every_admin_route_at_the_gateway(
    stack: Stack, every_admin_route: list[tuple[str, str]]
) -> None:
    assert any(path.startswith("/admin/data/auth/") for _, path in every_admin_route)
    assert any(path.startswith("/admin/data/users/") for _, path in every_admin_route)
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        user = register(client, f"user-{uuid.uuid4().hex[:8]}@example.com")["access_token"]
        for method, path in every_admin_route:
            refused = client.request(method, path, headers={"Authorization": f"Bearer {user}"})
            assert refused.status_code == 403, (method, path)
            assert client.request(method, path).status_code == 401, (method, path)


def test_an_admin_disables_an_account_and_its_tokens_stop_working(
    stack: Stack, database_url: str
) -> None:
    root = f"root-{uuid.uuid4().hex[:8]}@example.com"
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.gateway, timeout=30) as api:
        register(api, root)
        ada = register(api, email)
    run_sql(database_url, "UPDATE auth.accounts SET roles = '{admin,user}' WHERE email = $1", root)
    bearer = {"Authorization": f"Bearer {ada['access_token']}"}

    with httpx.Client(base_url=stack.gateway, timeout=30) as browser:
        signed_in = browser.post(
            "/api/auth/login", json={"email": root, "password": PASSWORD}, headers=BROWSER
        )
        assert signed_in.status_code == 200, signed_in.text
        assert "access_token" not in signed_in.json()  # the session is in httpOnly cookies
        listed = browser.get("/admin/data/auth/account/list", params={"q": email})
        assert listed.status_code == 200, listed.text
        assert email in listed.text
        assert f'href="{stack.gateway}/admin/data/auth/account/detail?pk=' in listed.text
        assert browser.get(listed.text.split('src="', 2)[2].split('"', 1)[0]).status_code == 200
        me = browser.get("/api/auth/me").json()
        assert me["email"] == root

        with httpx.Client(base_url=stack.gateway, timeout=30) as api:
            account = api.get("/api/auth/me", headers=bearer).json()["id"]
            profile = api.get("/api/users/me", headers=bearer)
            assert profile.status_code == 200

        action = f"/admin/data/auth/_api/account/row-action?pk={account}&name=disable"
        assert browser.post(action).status_code == 403  # a cookie write needs X-Nova-CSRF
        disabled = browser.post(action, headers={"X-Nova-CSRF": "1"})
        assert disabled.status_code == 200, disabled.text

        with httpx.Client(base_url=stack.gateway, timeout=30) as api:
            assert api.get("/api/auth/me", headers=bearer).status_code == 401
            assert api.get("/api/users/me", headers=bearer).status_code == 401
            refreshed = api.post("/api/auth/refresh", json={"refresh_token": ada["refresh_token"]})
            assert refreshed.status_code == 401
            login = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code in (401, 403)

        enabled = browser.post(
            f"/admin/data/auth/_api/account/row-action?pk={account}&name=enable",
            headers={"X-Nova-CSRF": "1"},
        )
        assert enabled.status_code == 200, enabled.text
        with httpx.Client(base_url=stack.gateway, timeout=30) as api:
            again = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            assert again.status_code == 200

        profiles = "/admin/data/users/_api/profile/row-action"
        hidden = browser.post(
            f"{profiles}?pk={account}&name=soft_delete", headers={"X-Nova-CSRF": "1"}
        )
        assert hidden.status_code == 200, hidden.text
        assert browser.get(f"/api/users/{account}").status_code == 404
        shown = browser.post(f"{profiles}?pk={account}&name=restore", headers={"X-Nova-CSRF": "1"})
        assert shown.status_code == 200, shown.text
        assert browser.get(f"/api/users/{account}").status_code == 200
