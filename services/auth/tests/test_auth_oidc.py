"""Sign-in with an OpenID provider, end to end against a real provider on loopback (panva's
certified ``oidc-provider``, see ``oidc_provider/provider.mjs``): the app redirects to it, the
test signs in and consents there like a person would, and the provider's redirect back is
followed to the app's callback."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import asyncpg
import pyotp
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from nova_auth.services import two_factor as two_factor_module
from nova_auth.services.identity import FLOW_COOKIE, FLOW_KEY_PREFIX

PROVIDER = "test"
CALLBACK = f"/api/auth/oidc/{PROVIDER}/callback"

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def oidc_client(make_client: Callable[..., Any], oidc_provider: Any) -> AsyncIterator[Client]:
    providers = [
        {
            "name": PROVIDER,
            "issuer": oidc_provider.issuer,
            "client_id": oidc_provider.client_id,
            "client_secret": oidc_provider.client_secret,
            "display_name": "Test ID",
        }
    ]
    async with make_client(
        oidc_providers=json.dumps(providers), oidc_redirect_base_url="http://testserver.local"
    ) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def start(client: Client, next_path: str = "/welcome") -> str:
    response = await client.get(
        f"/api/auth/oidc/{PROVIDER}/authorize",
        params={"next": next_path},
        follow_redirects=False,
    )
    assert response.status_code == 302, response.text
    assert FLOW_COOKIE in response.cookies
    assert "httponly" in response.headers["set-cookie"].lower()
    return str(response.headers["location"])


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == CALLBACK
    return f"{parts.path}?{parts.query}"


async def provider_sign_in(
    client: Client, provider_login: Callable[..., Any], login: str, next_path: str = "/welcome"
) -> Any:
    url = await provider_login(await start(client, next_path), login)
    return await client.get(callback_path(url))


async def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query, *args)
    finally:
        await connection.close()
    return rows


async def test_providers_are_listed_for_the_login_page(oidc_client: Client) -> None:
    response = await oidc_client.get("/api/auth/oidc/providers")
    assert response.status_code == 200
    assert response.json() == {"providers": [{"name": "test", "display_name": "Test ID"}]}


async def test_the_authorization_request_carries_pkce_state_and_nonce(
    oidc_client: Client, oidc_provider: Any
) -> None:
    url = await start(oidc_client)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{oidc_provider.issuer}/auth?")
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [f"http://testserver.local{CALLBACK}"]
    assert query["scope"] == ["openid email profile"]
    assert len(query["state"][0]) >= 32
    assert len(query["nonce"][0]) >= 32


async def test_sign_up_through_the_provider_then_sign_in_again(
    oidc_client: Client, provider_login: Callable[..., Any], migrated_database: str
) -> None:
    first = await provider_sign_in(oidc_client, provider_login, "ada@example.com", "/settings")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["outcome"] == "created"
    assert body["next"] == "/settings"
    account = body["account"]
    assert account["email"] == "ada@example.com"
    assert account["email_verified"] is True
    assert account["has_password"] is False
    me = await oidc_client.get("/api/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == account["id"]
    # The flow cookie is cleared by the callback.
    assert f"{FLOW_COOKIE}=" in first.headers["set-cookie"]

    again = await provider_sign_in(oidc_client, provider_login, "ada@example.com")
    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "signed_in"
    assert again.json()["account"]["id"] == account["id"]

    identities = await oidc_client.get(
        "/api/auth/me/identities", headers=bearer(again.json()["access_token"])
    )
    assert identities.status_code == 200
    [identity] = identities.json()
    assert identity["provider"] == PROVIDER
    assert identity["email"] == "ada@example.com"
    rows = await fetch(
        migrated_database,
        "SELECT type, data FROM auth.outbox WHERE user_id = $1 ORDER BY occurred_at",
        uuid.UUID(account["id"]),
    )
    assert [row["type"] for row in rows] == ["user.registered"]
    assert json.loads(rows[0]["data"])["provider"] == PROVIDER
    log = await oidc_client.get(
        "/api/auth/me/security-events", headers=bearer(again.json()["access_token"])
    )
    kinds = [edge["node"]["kind"] for edge in log.json()["edges"]]
    assert kinds == ["sign_in_with_provider", "sign_in_with_provider"]


async def test_an_account_without_password_cannot_sign_in_with_one_until_it_sets_one(
    oidc_client: Client, provider_login: Callable[..., Any]
) -> None:
    signed = (await provider_sign_in(oidc_client, provider_login, "bea@example.com")).json()
    token = signed["access_token"]
    login = await oidc_client.post(
        "/api/auth/login", json={"email": "bea@example.com", "password": "any password at all"}
    )
    assert login.status_code == 401
    assert login.json()["code"] == "invalid_credentials"
    change = await oidc_client.post(
        "/api/auth/change-password",
        json={"current_password": "whatever it is", "new_password": "a brand new secret"},
        headers=bearer(token),
    )
    assert change.status_code == 403
    assert change.json()["code"] == "password_not_set"

    new_password = "correct horse battery staple"
    set_first = await oidc_client.post(
        "/api/auth/me/password", json={"new_password": new_password}, headers=bearer(token)
    )
    assert set_first.status_code == 200, set_first.text
    assert set_first.json()["account"]["has_password"] is True
    fresh = set_first.json()["access_token"]
    again = await oidc_client.post(
        "/api/auth/me/password", json={"new_password": "another one, longer"}, headers=bearer(fresh)
    )
    assert again.status_code == 409
    assert again.json()["code"] == "password_already_set"
    login = await oidc_client.post(
        "/api/auth/login", json={"email": "bea@example.com", "password": new_password}
    )
    assert login.status_code == 200


async def test_a_wrong_or_replayed_state_is_refused(
    oidc_client: Client, provider_login: Callable[..., Any]
) -> None:
    url = await provider_login(await start(oidc_client), "cid@example.com")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = await oidc_client.get(f"{CALLBACK}?{urlencode({**query, 'state': 'x' * 43})}")
    assert forged.status_code == 400
    assert forged.json()["code"] == "oidc_state_invalid"

    good = await oidc_client.get(callback_path(url))
    assert good.status_code == 200, good.text
    replayed = await oidc_client.get(callback_path(url))
    assert replayed.status_code == 400
    assert replayed.json()["code"] == "oidc_state_invalid"


async def test_the_state_is_bound_to_the_browser_that_started(
    oidc_client: Client, provider_login: Callable[..., Any]
) -> None:
    url = await provider_login(await start(oidc_client), "dan@example.com")
    oidc_client.cookies.clear()  # another browser: it never got the flow cookie
    stolen = await oidc_client.get(callback_path(url))
    assert stolen.status_code == 400
    assert stolen.json()["code"] == "oidc_state_invalid"


async def test_an_id_token_with_another_nonce_is_refused(
    oidc_client: Client, provider_login: Callable[..., Any], redis_url: str
) -> None:
    url = await provider_login(await start(oidc_client), "eve@example.com")
    state = parse_qs(urlsplit(url).query)["state"][0]
    redis = Redis.from_url(redis_url)
    try:
        stored = await redis.get(FLOW_KEY_PREFIX + state)
        assert stored is not None
        flow = json.loads(stored)
        flow["nonce"] = "a-nonce-this-flow-never-sent"
        await redis.set(FLOW_KEY_PREFIX + state, json.dumps(flow), ex=60)
    finally:
        await redis.aclose()
    refused = await oidc_client.get(callback_path(url))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_id_token"
    assert "nonce" in refused.json()["message"]


async def test_a_cancelled_sign_in_is_refused_and_spends_the_state(oidc_client: Client) -> None:
    url = await start(oidc_client)
    state = parse_qs(urlsplit(url).query)["state"][0]
    denied = await oidc_client.get(CALLBACK, params={"state": state, "error": "access_denied"})
    assert denied.status_code == 401
    assert denied.json()["code"] == "oidc_denied"
    again = await oidc_client.get(CALLBACK, params={"state": state, "code": "x"})
    assert again.json()["code"] == "oidc_state_invalid"


async def test_a_provider_never_takes_over_an_account_with_an_unverified_address(
    oidc_client: Client,
    provider_login: Callable[..., Any],
    api_for: Callable[[Client], Any],
    migrated_database: str,
) -> None:
    api = api_for(oidc_client)
    owner = await api.register("fay@example.com")  # local addresses start unverified
    refused = await provider_sign_in(oidc_client, provider_login, "fay@example.com")
    assert refused.status_code == 409
    assert refused.json()["code"] == "oidc_account_exists"
    assert "access_token" not in refused.json()
    assert await fetch(migrated_database, "SELECT id FROM auth.identities") == []
    me = await api.me(owner["access_token"])
    assert me.json()["has_password"] is True


async def test_an_unverified_provider_address_never_links_to_a_verified_account(
    oidc_client: Client,
    provider_login: Callable[..., Any],
    api_for: Callable[[Client], Any],
    migrated_database: str,
) -> None:
    address = "gus+unverified@example.com"  # the test provider says email_verified: false
    await api_for(oidc_client).register(address)
    await fetch(
        migrated_database,
        "UPDATE auth.accounts SET email_verified = true WHERE email = $1",
        address,
    )
    refused = await provider_sign_in(oidc_client, provider_login, address)
    assert refused.status_code == 409
    assert refused.json()["code"] == "oidc_account_exists"
    assert await fetch(migrated_database, "SELECT id FROM auth.identities") == []


async def test_verified_on_both_sides_links_to_the_existing_account(
    oidc_client: Client,
    provider_login: Callable[..., Any],
    api_for: Callable[[Client], Any],
    migrated_database: str,
) -> None:
    owner = await api_for(oidc_client).register("hal@example.com")
    await fetch(
        migrated_database,
        "UPDATE auth.accounts SET email_verified = true WHERE email = $1",
        "hal@example.com",
    )
    linked = await provider_sign_in(oidc_client, provider_login, "hal@example.com")
    assert linked.status_code == 200, linked.text
    assert linked.json()["outcome"] == "signed_in"
    assert linked.json()["account"]["id"] == owner["account"]["id"]
    rows = await fetch(
        migrated_database,
        "SELECT type FROM auth.outbox WHERE user_id = $1 AND type = 'user.identity_linked'",
        uuid.UUID(owner["account"]["id"]),
    )
    assert len(rows) == 1
    log = await oidc_client.get(
        "/api/auth/me/security-events", headers=bearer(linked.json()["access_token"])
    )
    kinds = [edge["node"]["kind"] for edge in log.json()["edges"]]
    # linked and signed in at the same instant: the two newest entries, in either order
    assert sorted(kinds[:2]) == ["identity_linked", "sign_in_with_provider"], kinds


async def test_a_signed_in_account_links_a_provider_then_signs_in_with_it(
    oidc_client: Client, provider_login: Callable[..., Any], api_for: Callable[[Client], Any]
) -> None:
    owner = await api_for(oidc_client).register("ida@example.com")  # unverified locally
    token = owner["access_token"]
    started = await oidc_client.post(
        f"/api/auth/me/identities/link/{PROVIDER}",
        json={"next": "/settings/security"},
        headers=bearer(token),
    )
    assert started.status_code == 200, started.text
    assert FLOW_COOKIE in started.cookies
    url = await provider_login(started.json()["authorization_url"], "ida@example.com")
    linked = await oidc_client.get(callback_path(url))
    assert linked.status_code == 200, linked.text
    assert linked.json() == {"outcome": "linked", "next": "/settings/security"}

    signed = await provider_sign_in(oidc_client, provider_login, "ida@example.com")
    assert signed.status_code == 200, signed.text
    assert signed.json()["outcome"] == "signed_in"
    assert signed.json()["account"]["id"] == owner["account"]["id"]


async def test_a_provider_sign_in_to_a_two_factor_account_still_asks_for_a_code(
    oidc_client: Client,
    provider_login: Callable[..., Any],
    api_for: Callable[[Client], Any],
    monkeypatch: pytest.MonkeyPatch,
    migrated_database: str,
) -> None:
    """Whoever vouched for the address, the account's own second factor protects it: the
    callback answers the password step's challenge, and only a code opens the session."""
    now = [float(int(time.time()) // 30 * 30 + 5)]
    monkeypatch.setattr(two_factor_module, "clock", lambda: now[0])
    api = api_for(oidc_client)
    owner = await api.register("kim@example.com")
    token = owner["access_token"]
    started = await oidc_client.post(
        f"/api/auth/me/identities/link/{PROVIDER}", json={}, headers=bearer(token)
    )
    url = await provider_login(started.json()["authorization_url"], "kim@example.com")
    assert (await oidc_client.get(callback_path(url))).json()["outcome"] == "linked"
    enrolment = await oidc_client.post(
        "/api/auth/me/two-factor", json={"password": api.password}, headers=bearer(token)
    )
    secret = enrolment.json()["secret"]
    confirmed = await oidc_client.post(
        "/api/auth/me/two-factor/confirm",
        json={"code": pyotp.TOTP(secret).at(now[0])},
        headers=bearer(token),
    )
    assert confirmed.status_code == 200, confirmed.text

    answer = await provider_sign_in(oidc_client, provider_login, "kim@example.com", "/security")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["outcome"] == "mfa_required"
    assert body["mfa_required"] is True
    assert body["next"] == "/security"
    assert body["expires_in"] == 300
    assert body["methods"] == ["totp", "recovery_code"]
    assert not {"access_token", "refresh_token", "account"} & body.keys()
    # the same challenge as a password's: the second step completes it, once
    now[0] += 30
    wrong = await oidc_client.post(
        "/api/auth/login/two-factor", json={"mfa_token": body["mfa_token"], "code": "000000"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_code"
    signed = await oidc_client.post(
        "/api/auth/login/two-factor",
        json={"mfa_token": body["mfa_token"], "code": pyotp.TOTP(secret).at(now[0])},
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["account"]["id"] == owner["account"]["id"]
    again = await oidc_client.post(
        "/api/auth/login/two-factor",
        json={
            "mfa_token": body["mfa_token"],
            "recovery_code": confirmed.json()["recovery_codes"][0],
        },
    )
    assert again.status_code == 401
    assert again.json()["code"] == "mfa_token_invalid"
    log = await oidc_client.get(
        "/api/auth/me/security-events", headers=bearer(signed.json()["access_token"])
    )
    kinds = [edge["node"]["kind"] for edge in log.json()["edges"]]
    # the provider's first step alone is no sign-in; the completed second step is one
    assert kinds.count("sign_in_with_provider") == 1
    assert kinds[0] == "sign_in_with_provider"

    # with the factor gone (an administrator's reset), the provider signs in directly again
    await fetch(
        migrated_database,
        "DELETE FROM auth.two_factor WHERE account_id = $1",
        uuid.UUID(owner["account"]["id"]),
    )
    direct = await provider_sign_in(oidc_client, provider_login, "kim@example.com")
    assert direct.json()["outcome"] == "signed_in"


async def test_unlinking_the_only_way_to_sign_in_is_refused(
    oidc_client: Client, provider_login: Callable[..., Any], migrated_database: str
) -> None:
    signed = (await provider_sign_in(oidc_client, provider_login, "jon@example.com")).json()
    token = signed["access_token"]
    [identity] = (await oidc_client.get("/api/auth/me/identities", headers=bearer(token))).json()
    refused = await oidc_client.delete(
        f"/api/auth/me/identities/{identity['id']}", headers=bearer(token)
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "last_sign_in_method"

    with_password = await oidc_client.post(
        "/api/auth/me/password",
        json={"new_password": "correct horse battery staple"},
        headers=bearer(token),
    )
    token = with_password.json()["access_token"]
    unlinked = await oidc_client.delete(
        f"/api/auth/me/identities/{identity['id']}", headers=bearer(token)
    )
    assert unlinked.status_code == 204
    assert (await oidc_client.get("/api/auth/me/identities", headers=bearer(token))).json() == []
    missing = await oidc_client.delete(
        f"/api/auth/me/identities/{identity['id']}", headers=bearer(token)
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "identity_not_found"
    rows = await fetch(
        migrated_database,
        "SELECT data FROM auth.outbox WHERE type = 'user.identity_unlinked' AND user_id = $1",
        uuid.UUID(signed["account"]["id"]),
    )
    assert [json.loads(row["data"]) for row in rows] == [{"provider": PROVIDER}]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/auth/oidc/test/authorize", {"next": "//evil.example/"}),
        ("/api/auth/oidc/test/authorize", {"next": "https://evil.example/"}),
        ("/api/auth/oidc/test/authorize", {"next": "/\\evil.example"}),
        ("/api/auth/oidc/test/authorize", {"next": "/" + "a" * 600}),
        ("/api/auth/oidc/test/authorize", {"next": "/ok\r\nSet-Cookie: x=1"}),
        ("/api/auth/oidc/nope/authorize", {}),
        ("/api/auth/oidc/test/callback", {}),
        ("/api/auth/oidc/test/callback", {"state": "s" * 200, "code": "c"}),
        ("/api/auth/oidc/test/callback", {"state": "s", "code": "c" * 3000}),
        ("/api/auth/oidc/test/callback", {"state": "\x00", "code": "\x00"}),
        ("/api/auth/oidc/test/callback", {"state": "s", "iss": "i" * 600}),
        ("/api/auth/oidc/nope/callback", {"state": "s", "code": "c"}),
        ("/api/auth/oidc/" + "p" * 300 + "/callback", {"state": "s", "code": "c"}),
    ],
)
async def test_malformed_requests_get_a_4xx(
    oidc_client: Client, path: str, params: dict[str, str]
) -> None:
    response = await oidc_client.get(path, params=params, follow_redirects=False)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"]


async def test_malformed_identity_requests_get_a_4xx(
    oidc_client: Client, provider_login: Callable[..., Any]
) -> None:
    token = (await provider_sign_in(oidc_client, provider_login, "kim@example.com")).json()[
        "access_token"
    ]
    headers = bearer(token)
    for method, path, body in [
        ("POST", "/api/auth/me/identities/link/test", b"{not json"),
        ("POST", "/api/auth/me/identities/link/test", b'{"next": 5}'),
        ("POST", "/api/auth/me/identities/link/test", b'{"next": "//evil"}'),
        ("POST", "/api/auth/me/identities/link/test", b'{"other": 1}'),
        ("POST", "/api/auth/me/identities/link/nope", b"{}"),
        ("DELETE", "/api/auth/me/identities/not-a-uuid", b""),
        ("POST", "/api/auth/me/password", b'{"new_password": ""}'),
        ("POST", "/api/auth/me/password", b'{"new_password": "short"}'),
        ("POST", "/api/auth/me/password", b"[]"),
    ]:
        response = await oidc_client.request(
            method, path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (method, path, body, response.text)
    anonymous = await oidc_client.get("/api/auth/me/identities")
    assert anonymous.status_code == 401


async def test_identities_over_graphql(
    oidc_client: Client, provider_login: Callable[..., Any], api_for: Callable[[Client], Any]
) -> None:
    api = api_for(oidc_client)
    providers = await api.gql("{ identityProviders { name displayName } }")
    assert providers["data"]["identityProviders"] == [{"name": "test", "displayName": "Test ID"}]

    token = (await provider_sign_in(oidc_client, provider_login, "lou@example.com")).json()[
        "access_token"
    ]
    mine = await api.gql(
        "{ account { email hasPassword } linkedIdentities { id provider email } }", token
    )
    assert mine["data"]["account"] == {"email": "lou@example.com", "hasPassword": False}
    [identity] = mine["data"]["linkedIdentities"]
    assert identity["provider"] == PROVIDER

    unlink = "mutation($id: ID!) { unlinkIdentity(id: $id) }"
    refused = await api.gql(unlink, token, id=identity["id"])
    assert refused["errors"][0]["extensions"]["code"] == "last_sign_in_method"
    malformed = await api.gql(unlink, token, id="not-an-id")
    assert malformed["errors"][0]["extensions"]["code"] == "identity_not_found"

    set_password = (
        "mutation($p: String!) { setPassword(input: {newPassword: $p}) "
        "{ accessToken user { hasPassword } } }"
    )
    payload = (await api.gql(set_password, token, p="correct horse battery staple"))["data"]
    assert payload["setPassword"]["user"]["hasPassword"] is True
    token = payload["setPassword"]["accessToken"]
    assert (await api.gql(unlink, token, id=identity["id"]))["data"]["unlinkIdentity"] is True
    assert (await api.gql("{ linkedIdentities { id } }", token))["data"] == {"linkedIdentities": []}
    anonymous = await api.gql("{ linkedIdentities { id } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "unauthenticated"


async def test_an_unverified_provider_address_creates_no_account_unless_allowed(
    make_client: Callable[..., Any],
    oidc_client: Client,
    oidc_provider: Any,
    provider_login: Callable[..., Any],
    migrated_database: str,
) -> None:
    address = "max+unverified@example.com"
    refused = await provider_sign_in(oidc_client, provider_login, address)
    assert refused.status_code == 403
    assert refused.json()["code"] == "oidc_email_unverified"
    assert await fetch(migrated_database, "SELECT id FROM auth.accounts") == []

    providers = [
        {
            "name": PROVIDER,
            "issuer": oidc_provider.issuer,
            "client_id": oidc_provider.client_id,
            "client_secret": oidc_provider.client_secret,
        }
    ]
    async with make_client(
        oidc_providers=json.dumps(providers),
        oidc_redirect_base_url="http://testserver.local",
        oidc_signup_unverified_email=True,
    ) as lenient:
        created = await provider_sign_in(lenient, provider_login, address)
        assert created.status_code == 200, created.text
        assert created.json()["outcome"] == "created"
        assert created.json()["account"]["email_verified"] is False
