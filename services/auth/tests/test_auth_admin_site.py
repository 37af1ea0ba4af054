"""The model admin at /admin/data/auth: administrators only, on every route; accounts listed,
searched, filtered and shown without a credential on any page; disable, enable and the
second-factor reset go through the service (sessions end, tokens stop working, events)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg
import jwt
import pyotp
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from nova_auth.admin import AUTH_ADMIN_PATH
from nova_kit.admin import admin_site_of

Client = AsyncTestClient[Litestar]
ACCOUNTS = f"{AUTH_ADMIN_PATH}/account"
ROW_ACTION = f"{AUTH_ADMIN_PATH}/_api/account/row-action"


async def enrol(api: Any, token: str) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on: the TOTP secret and the recovery codes."""
    started = await api.client.post(
        "/api/auth/me/two-factor", json={"password": api.password}, headers=api.bearer(token)
    )
    assert started.status_code == 200, started.text
    secret: str = started.json()["secret"]
    confirmed = await api.client.post(
        "/api/auth/me/two-factor/confirm",
        json={"code": pyotp.TOTP(secret).now()},
        headers=api.bearer(token),
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, list(confirmed.json()["recovery_codes"])


def subject(tokens: dict[str, Any]) -> str:
    return str(jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"])


async def rows(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        found: list[asyncpg.Record] = await connection.fetch(query, *args)
        return found
    finally:
        await connection.close()


async def account_id(database_url: str, email: str) -> str:
    [row] = await rows(database_url, "SELECT id FROM auth.accounts WHERE email = $1", email)
    return str(row["id"])


async def test_every_admin_route_refuses_anyone_but_an_administrator(
    client: Client, api: Any, make_admin: Any
) -> None:
    await make_admin("root@example.com")
    user = (await api.register("someone@example.com"))["access_token"]
    routes = admin_site_of(client.app).route_samples()
    methods = {method for method, _ in routes}
    assert {"GET", "POST"} <= methods
    assert any(path.endswith("/account/list") for _, path in routes)
    assert any(path.endswith("/security-event/detail") for _, path in routes)
    for method, path in routes:
        anonymous = await client.request(method, path)
        assert anonymous.status_code == 401, (method, path)
        refused = await client.request(method, path, headers=api.bearer(user))
        assert refused.status_code == 403, (method, path, refused.text)
        if method != "HEAD":
            assert refused.json()["code"] == "admin_required"
    page = await client.get(f"{ACCOUNTS}/list", headers={**api.bearer(user), "Accept": "text/html"})
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "Administrators only" in page.text
    signed_out = await client.get(f"{ACCOUNTS}/list", headers={"Accept": "text/html"})
    assert signed_out.status_code == 401
    assert 'href="/login"' in signed_out.text


async def test_admin_lists_searches_filters_and_shows_accounts(
    client: Client, api: Any, make_admin: Any, migrated_database: str
) -> None:
    admin = api.bearer((await make_admin("root@example.com"))["access_token"])
    await api.register("ada@example.com")
    await api.register("alan@example.com")
    alan = await account_id(migrated_database, "alan@example.com")
    await rows(
        migrated_database,
        "UPDATE auth.accounts SET status = 'disabled' WHERE id = $1",
        uuid.UUID(alan),
    )

    listed = await client.get(f"{ACCOUNTS}/list", headers=admin)
    assert listed.status_code == 200
    assert listed.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in listed.headers["content-security-policy"]
    for email in ("root@example.com", "ada@example.com", "alan@example.com"):
        assert email in listed.text
    searched = (await client.get(f"{ACCOUNTS}/list?q=ada", headers=admin)).text
    assert "ada@example.com" in searched
    assert "alan@example.com" not in searched
    by_id = (await client.get(f"{ACCOUNTS}/list?q={alan[:13]}", headers=admin)).text
    assert "alan@example.com" in by_id
    assert "ada@example.com" not in by_id
    disabled = (await client.get(f"{ACCOUNTS}/list?filter=status__eq=disabled", headers=admin)).text
    assert "alan@example.com" in disabled
    assert "ada@example.com" not in disabled
    admins = await client.get(f"{ACCOUNTS}/list?filter=roles__has=admin", headers=admin)
    assert admins.status_code == 200, admins.text
    assert "root@example.com" in admins.text
    assert "ada@example.com" not in admins.text
    ordered = (await client.get(f"{ACCOUNTS}/list?sort=email__asc", headers=admin)).text
    assert ordered.index("ada@example.com") < ordered.index("alan@example.com")
    assert ordered.index("alan@example.com") < ordered.index("root@example.com")
    bad_filter = await client.get(f"{ACCOUNTS}/list?filter=nope__eq=1", headers=admin)
    assert bad_filter.status_code == 400

    detail = await client.get(f"{ACCOUNTS}/detail?pk={alan}", headers=admin)
    assert detail.status_code == 200
    assert "alan@example.com" in detail.text
    assert "sign_in" in detail.text  # the recent security events
    assert "open until" in detail.text  # the session of the sign-in
    events = await client.get(f"{AUTH_ADMIN_PATH}/security-event/list?q=sign_in", headers=admin)
    assert events.status_code == 200
    assert alan in events.text
    asset = await client.get(f"{AUTH_ADMIN_PATH}/static/js/nova-admin.js", headers=admin)
    assert asset.status_code == 200
    assert "X-Nova-CSRF" in asset.text


async def test_no_credential_appears_on_any_admin_page(
    client: Client, api: Any, make_admin: Any, migrated_database: str
) -> None:
    admin = api.bearer((await make_admin("root@example.com"))["access_token"])
    tokens = await api.register("ada@example.com")
    secret, recovery_codes = await enrol(api, tokens["access_token"])
    ada = await account_id(migrated_database, "ada@example.com")
    [account] = await rows(
        migrated_database, "SELECT password_hash FROM auth.accounts WHERE id = $1", uuid.UUID(ada)
    )
    [factor] = await rows(migrated_database, "SELECT secret FROM auth.two_factor")
    hashes = await rows(migrated_database, "SELECT code_hash FROM auth.recovery_codes")
    refresh = await rows(migrated_database, "SELECT token_hash FROM auth.refresh_tokens")
    credentials = [
        account["password_hash"],
        secret,
        factor["secret"],
        tokens["refresh_token"],
        tokens["access_token"],
        *recovery_codes,
        *(row["code_hash"] for row in hashes),
        *(row["token_hash"] for row in refresh),
    ]
    pages = [
        f"{ACCOUNTS}/list",
        f"{ACCOUNTS}/detail?pk={ada}",
        f"{AUTH_ADMIN_PATH}/security-event/list",
        f"{AUTH_ADMIN_PATH}/",
    ]
    for path in pages:
        page = await client.get(path, headers=admin)
        assert page.status_code == 200, path
        for credential in credentials:
            assert credential not in page.text, path
    detail = (await client.get(f"{ACCOUNTS}/detail?pk={ada}", headers=admin)).text
    assert "on since" in detail  # the second factor is shown as on, never as its secret
    with_factor = await client.get(f"{ACCOUNTS}/list?filter=two_factor__is_true", headers=admin)
    assert "ada@example.com" in with_factor.text
    assert "root@example.com" not in with_factor.text
    without = await client.get(f"{ACCOUNTS}/list?filter=two_factor__is_false", headers=admin)
    assert "root@example.com" in without.text
    assert "ada@example.com" not in without.text
    for editing in ("create", f"edit?pk={ada}"):
        refused = await client.get(f"{ACCOUNTS}/{editing}", headers=admin)
        assert refused.status_code == 403, editing


async def test_disable_ends_sessions_and_enable_lets_the_account_back(
    client: Client,
    api: Any,
    make_admin: Any,
    migrated_database: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    root = await make_admin("root@example.com")
    admin = api.bearer(root["access_token"])
    tokens = await api.register("ada@example.com")
    ada = await account_id(migrated_database, "ada@example.com")
    assert (await api.me(tokens["access_token"])).status_code == 200

    with caplog.at_level(logging.INFO, logger="nova_kit.admin"):
        disabled = await client.post(f"{ROW_ACTION}?pk={ada}&name=disable", headers=admin)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["redirect"].endswith(f"{ACCOUNTS}/list")
    [line] = [r for r in caplog.records if r.getMessage().startswith("admin action disable")]
    assert line.__dict__["admin_id"] == subject(root)
    assert line.__dict__["targets"] == [ada]
    assert line.__dict__["succeeded"] is True

    assert (await api.me(tokens["access_token"])).status_code == 401
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    assert (await api.login("ada@example.com")).status_code in (401, 403)
    [status] = await rows(
        migrated_database, "SELECT status FROM auth.accounts WHERE id = $1", uuid.UUID(ada)
    )
    assert status["status"] == "disabled"
    open_sessions = await rows(
        migrated_database,
        "SELECT id FROM auth.sessions WHERE account_id = $1 AND revoked_at IS NULL",
        uuid.UUID(ada),
    )
    assert open_sessions == []
    events = await rows(
        migrated_database, "SELECT type FROM auth.outbox WHERE user_id = $1", uuid.UUID(ada)
    )
    assert "user.disabled" in [row["type"] for row in events]

    twice = await client.post(f"{ROW_ACTION}?pk={ada}&name=disable", headers=admin)
    assert twice.status_code == 400  # not offered for a disabled account
    enabled = await client.post(f"{ROW_ACTION}?pk={ada}&name=enable", headers=admin)
    assert enabled.status_code == 200, enabled.text
    assert (await api.login("ada@example.com")).status_code == 200
    log = await rows(
        migrated_database,
        "SELECT kind, actor FROM auth.security_events WHERE account_id = $1"
        " AND kind LIKE 'account_%' ORDER BY occurred_at",
        uuid.UUID(ada),
    )
    assert [(row["kind"], row["actor"]) for row in log] == [
        ("account_disabled", subject(root)),
        ("account_enabled", subject(root)),
    ]

    own = await client.post(f"{ROW_ACTION}?pk={subject(root)}&name=disable", headers=admin)
    assert own.status_code == 400
    assert "cannot disable their own account" in own.json()["msg"]
    unknown = await client.post(f"{ROW_ACTION}?pk=not-an-id&name=disable", headers=admin)
    assert unknown.status_code == 400


async def test_reset_two_factor_removes_the_factor_with_its_events(
    client: Client, api: Any, make_admin: Any, migrated_database: str
) -> None:
    root = await make_admin("root@example.com")
    admin = api.bearer(root["access_token"])
    tokens = await api.register("ada@example.com")
    await enrol(api, tokens["access_token"])
    ada = await account_id(migrated_database, "ada@example.com")
    assert (await api.login("ada@example.com")).json().get("mfa_required") is True

    reset = await client.post(f"{ROW_ACTION}?pk={ada}&name=reset_two_factor", headers=admin)
    assert reset.status_code == 200, reset.text
    assert (await api.login("ada@example.com")).json().get("access_token")
    assert await rows(migrated_database, "SELECT * FROM auth.two_factor") == []
    kinds = await rows(
        migrated_database,
        "SELECT kind, actor FROM auth.security_events WHERE account_id = $1",
        uuid.UUID(ada),
    )
    assert ("two_factor_reset_by_admin", subject(root)) in [
        (row["kind"], row["actor"]) for row in kinds
    ]
    events = await rows(
        migrated_database, "SELECT type, data FROM auth.outbox WHERE user_id = $1", uuid.UUID(ada)
    )
    assert any(
        row["type"] == "user.two_factor_disabled" and '"admin"' in row["data"] for row in events
    )
    again = await client.post(f"{ROW_ACTION}?pk={ada}&name=reset_two_factor", headers=admin)
    assert again.status_code == 400
    assert "no second factor" in again.json()["msg"]


async def test_the_admin_is_off_in_prod_unless_turned_on(make_settings: Any) -> None:
    assert make_settings().admin_enabled is True
    assert make_settings(admin=False).admin_enabled is False
