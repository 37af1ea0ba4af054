"""Register → login → refresh → logout over REST and GraphQL, with the same outcomes."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

PAYLOAD = (
    "accessToken tokenType expiresIn refreshToken refreshExpiresIn user { id email roles status }"
)


async def test_rest_register_login_refresh_logout(api: Any) -> None:
    client = api.client
    registered = await api.register("Ada@Example.com", display_name="Ada")
    assert registered["token_type"] == "Bearer"
    assert registered["account"]["email"] == "ada@example.com"
    assert registered["account"]["roles"] == ["user"]
    assert registered["account"]["status"] == "active"
    assert 0 < registered["expires_in"] <= 900

    me = await api.me(registered["access_token"])
    assert me.status_code == 200
    assert me.json()["id"] == registered["account"]["id"]

    login = await api.login("ada@example.com")
    assert login.status_code == 200
    assert login.headers["cache-control"] == "no-store"
    tokens = login.json()
    assert tokens["account"]["last_login_at"] is not None

    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (await api.me(new["access_token"])).status_code == 200

    logout = await client.post("/api/auth/logout", headers=api.bearer(new["access_token"]))
    assert logout.status_code == 204
    # the session is over: its access token and its refresh token no longer work
    assert (await api.me(new["access_token"])).status_code == 401
    again = await client.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401
    # the other session (from registration) lives on
    assert (await api.me(registered["access_token"])).status_code == 200

    # logout by refresh token alone (no access token at hand)
    by_refresh = await client.post(
        "/api/auth/logout", json={"refresh_token": registered["refresh_token"]}
    )
    assert by_refresh.status_code == 204
    assert (await api.me(registered["access_token"])).status_code == 401


async def test_graphql_register_login_refresh_logout(api: Any) -> None:
    for _ in range(2):  # a second registration of the address is answered the same
        registered = await api.gql(
            "mutation($input: RegisterInput!) { register(input: $input) }",
            input={"email": "grace@example.com", "password": api.password, "displayName": "Grace"},
        )
        assert registered == {"data": {"register": True}}

    login = await api.gql(
        f"mutation($input: LoginInput!) {{ login(input: $input) {{ {PAYLOAD} }} }}",
        input={"email": "grace@example.com", "password": api.password},
    )
    tokens = login["data"]["login"]
    assert tokens["tokenType"] == "Bearer"
    assert tokens["user"] == {
        "id": tokens["user"]["id"],
        "email": "grace@example.com",
        "roles": ["user"],
        "status": "ACTIVE",
    }

    account = await api.gql("{ account { id email lastLoginAt } }", tokens["accessToken"])
    assert account["data"]["account"]["email"] == "grace@example.com"
    assert account["data"]["account"]["lastLoginAt"] is not None

    refreshed = await api.gql(
        f"mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {PAYLOAD} }} }}",
        t=tokens["refreshToken"],
    )
    new = refreshed["data"]["refreshToken"]
    assert new["refreshToken"] != tokens["refreshToken"]

    logout = await api.gql("mutation { logout }", new["accessToken"])
    assert logout["data"] == {"logout": True}
    assert (await api.me(new["accessToken"])).status_code == 401

    # the same failures as REST, with the same codes and messages
    ended = await api.gql(
        f"mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {PAYLOAD} }} }}",
        t=new["refreshToken"],
    )
    assert ended["errors"][0]["extensions"]["code"] == "invalid_refresh_token"
    wrong = await api.gql(
        f"mutation($input: LoginInput!) {{ login(input: $input) {{ {PAYLOAD} }} }}",
        input={"email": "grace@example.com", "password": "not the password"},
    )
    assert wrong["errors"][0]["extensions"]["code"] == "invalid_credentials"
    rest_wrong = await api.login("grace@example.com", "not the password")
    assert rest_wrong.status_code == 401
    assert rest_wrong.json()["code"] == "invalid_credentials"
    assert rest_wrong.json()["message"] == wrong["errors"][0]["message"]

    anonymous = await api.gql("{ account { id } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "unauthenticated"


async def test_entities_are_batched_and_private(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    first = await api.register("one@example.com")
    second = await api.register("two@example.com")
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) "
        "{ ... on User { id email roles status createdAt } } }"
    )
    representations = [
        {"__typename": "User", "id": first["account"]["id"]},
        {"__typename": "User", "id": second["account"]["id"]},
        {"__typename": "User", "id": "00000000-0000-0000-0000-000000000000"},
        {"__typename": "User", "id": "not-a-uuid"},
    ]
    statements: list[str] = []
    from sqlalchemy import event

    engine = api.state.sessions.kw["bind"].sync_engine

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    # reads outside SQLAlchemy (nova_kit.db.OneRowRead) run on the asyncpg connection itself
    driver_execute = asyncpg.Connection._execute

    async def count_driver(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(query)
        return await driver_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "_execute", count_driver)
    event.listen(engine, "before_cursor_execute", count)
    try:
        own = await api.gql(query, first["access_token"], r=representations)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [s for s in statements if "FROM auth.accounts" in s or "FROM accounts" in s] == [
        statements[0]
    ], statements
    entities = own["data"]["_entities"]
    assert entities[0]["email"] == "one@example.com"
    assert entities[0]["status"] == "ACTIVE"
    # someone else's account: the entity resolves, its private fields do not
    assert entities[1] == {
        "id": second["account"]["id"],
        "email": None,
        "roles": None,
        "status": None,
        "createdAt": None,
    }
    assert entities[2] is None
    assert entities[3] is None


async def test_change_password_and_delete_account(api: Any) -> None:
    client = api.client
    registered = await api.register("linus@example.com")
    token = registered["access_token"]
    wrong = await client.post(
        "/api/auth/change-password",
        json={"current_password": "nope nope nope", "new_password": "a brand new secret"},
        headers=api.bearer(token),
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "invalid_password"
    changed = await client.post(
        "/api/auth/change-password",
        json={"current_password": api.password, "new_password": "a brand new secret"},
        headers=api.bearer(token),
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    # the old session is over; the new one works immediately
    assert (await api.me(token)).status_code == 401
    assert (await api.me(fresh["access_token"])).status_code == 200
    assert (await api.login("linus@example.com")).status_code == 401

    delete = await client.request(
        "DELETE",
        "/api/auth/me",
        json={"password": "a brand new secret"},
        headers=api.bearer(fresh["access_token"]),
    )
    assert delete.status_code == 204, delete.text
    assert (await api.me(fresh["access_token"])).status_code == 401
    assert (await api.login("linus@example.com", "a brand new secret")).status_code == 401
    # the address is free again
    await api.register("linus@example.com")


async def test_registration_rules(api: Any) -> None:
    client = api.client
    await api.register("taken@example.com")
    fresh = await client.post(
        "/api/auth/register", json={"email": "fresh@example.com", "password": api.password}
    )
    # an address with an account is answered exactly like a new one (no enumeration) ...
    taken = await client.post(
        "/api/auth/register", json={"email": "TAKEN@example.com", "password": "another secret!"}
    )
    assert (taken.status_code, taken.json()) == (fresh.status_code, fresh.json())
    assert taken.status_code == 202
    # ... and the account keeps its password
    assert (await api.login("taken@example.com", "another secret!")).status_code == 401
    assert (await api.login("taken@example.com")).status_code == 200
    fullwidth = "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13"
    # too short; common; common once NFKC-normalised (fullwidth "Password123"); too long
    for password in ["short", "password123", fullwidth, "x" * 129]:
        response = await client.post(
            "/api/auth/register", json={"email": "new@example.com", "password": password}
        )
        assert response.status_code == 422, password
        assert response.json()["code"] == "weak_password"
    bad_email = await client.post(
        "/api/auth/register", json={"email": "not-an-address", "password": api.password}
    )
    assert bad_email.status_code == 422
    assert bad_email.json()["code"] == "invalid_email"


async def test_jwks_and_openapi_are_published(api: Any) -> None:
    jwks = await api.client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    keys = jwks.json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "OKP"
    assert keys[0]["alg"] == "EdDSA"
    assert "d" not in keys[0]
    openapi = await api.client.get("/schema/openapi.json")
    paths = openapi.json()["paths"]
    for path in (
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/logout-all",
        "/api/auth/change-password",
        "/api/auth/me",
        "/.well-known/jwks.json",
    ):
        assert path in paths, path


async def test_graphql_change_password_and_logout_by_refresh_token(api: Any) -> None:
    registered = await api.register("gql-change@example.com")
    changed = await api.gql(
        "mutation($input: ChangePasswordInput!) { changePassword(input: $input) "
        "{ accessToken refreshToken user { email } } }",
        registered["access_token"],
        input={"currentPassword": api.password, "newPassword": "a fresh gql secret"},
    )
    assert changed.get("errors") is None, changed
    fresh = changed["data"]["changePassword"]
    assert (await api.me(registered["access_token"])).status_code == 401
    assert (await api.me(fresh["accessToken"])).status_code == 200
    assert (await api.login("gql-change@example.com", "a fresh gql secret")).status_code == 200

    weak = await api.gql(
        "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }",
        fresh["accessToken"],
        input={"currentPassword": "a fresh gql secret", "newPassword": "password1"},
    )
    assert weak["errors"][0]["extensions"]["code"] == "weak_password"
    assert weak["data"] == {"changePassword": None}

    out = await api.gql(
        "mutation($t: String) { logout(refreshToken: $t) }", t=fresh["refreshToken"]
    )
    assert out["data"] == {"logout": True}
    assert (await api.me(fresh["accessToken"])).status_code == 401


async def test_root_fields_and_entities_resolve_together(api: Any) -> None:
    """Strawberry resolves root fields concurrently: each service call is its own unit of work,
    so one operation selecting several of them never shares a database session."""
    first = await api.register("together-one@example.com")
    second = await api.register("together-two@example.com")
    query = (
        "query($r: [_Any!]!, $s: [_Any!]!) { account { id email roles } "
        "again: account { id status } _entities(representations: $r) { ... on User { id email } } "
        "more: _entities(representations: $s) { ... on User { id } } }"
    )
    representations = [
        {"__typename": "User", "id": first["account"]["id"]},
        {"__typename": "User", "id": second["account"]["id"]},
    ]
    body = await api.gql(
        query, first["access_token"], r=representations, s=list(reversed(representations))
    )
    assert "errors" not in body, body["errors"]
    data = body["data"]
    assert data["account"]["email"] == "together-one@example.com"
    assert data["again"] == {"id": first["account"]["id"], "status": "ACTIVE"}
    assert data["_entities"] == [
        {"id": first["account"]["id"], "email": "together-one@example.com"},
        {"id": second["account"]["id"], "email": None},
    ]
    assert [entity["id"] for entity in data["more"]] == [
        second["account"]["id"],
        first["account"]["id"],
    ]
