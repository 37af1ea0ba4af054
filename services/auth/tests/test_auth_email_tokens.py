"""E-mail verification, password reset and the security activity log, over REST and GraphQL."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import asyncpg

from nova_auth.config import DEV_SERVICE_CLIENTS
from nova_auth.services.housekeeping import Housekeeping
from nova_auth.state import AuthState

GOOD_PASSWORD = "a brand new long secret"


async def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query, *args)
        return rows
    finally:
        await connection.close()


async def mailed_token(database_url: str, event_type: str, email: str) -> str:
    """The token the latest event of this type carries for the account (what the mail holds)."""
    rows = await fetch(
        database_url,
        "SELECT o.data->>'token' AS token FROM auth.outbox o "
        "JOIN auth.accounts a ON a.id = o.user_id "
        "WHERE o.type = $1 AND a.email = $2 ORDER BY o.occurred_at DESC LIMIT 1",
        event_type,
        email,
    )
    assert rows, (event_type, email)
    assert rows[0]["token"], (event_type, email)
    return str(rows[0]["token"])


async def expire_tokens(database_url: str, purpose: str) -> None:
    await fetch(
        database_url,
        "UPDATE auth.one_time_tokens SET expires_at = now() - interval '1 second' "
        "WHERE purpose = $1",
        purpose,
    )


def error_code(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


async def test_verification_over_rest_is_single_use_and_stored_hashed(
    api: Any, migrated_database: str
) -> None:
    tokens = await api.register("vera@example.com")
    assert tokens["account"]["email_verified"] is False
    token = await mailed_token(migrated_database, "user.verification_requested", "vera@example.com")

    # only the digest is at rest
    [row] = await fetch(migrated_database, "SELECT * FROM auth.one_time_tokens")
    assert row["purpose"] == "verify_email"
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(value) for value in dict(row).values()}

    verified = await api.client.post("/api/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"status": "verified", "email_verified": True}
    assert (await api.me(tokens["access_token"])).json()["email_verified"] is True
    [account] = await fetch(migrated_database, "SELECT email_verified_at FROM auth.accounts")
    assert account["email_verified_at"] is not None

    again = await api.client.post("/api/auth/verify-email", json={"token": token})
    assert error_code(again) == (400, "invalid_token")
    unknown = await api.client.post("/api/auth/verify-email", json={"token": "not-a-token"})
    assert _public(unknown) == _public(again)  # one answer for used and unknown

    # the worker's confirmation leaves no usable token in the outbox either
    [event] = await fetch(
        migrated_database, "SELECT id FROM auth.outbox WHERE type = 'user.verification_requested'"
    )
    service = await api.client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "worker",
            "client_secret": DEV_SERVICE_CLIENTS["worker"],
        },
    )
    confirmed = await api.client.post(
        "/internal/events/confirmations",
        json={"ids": [str(event["id"])]},
        headers=api.bearer(service.json()["access_token"]),
    )
    assert confirmed.json() == {"confirmed": 1}
    [data] = await fetch(
        migrated_database, "SELECT data FROM auth.outbox WHERE id = $1", event["id"]
    )
    assert "token" not in data["data"]
    assert token not in data["data"]
    [verified_event] = await fetch(
        migrated_database,
        "SELECT count(*) AS n FROM auth.outbox WHERE type = 'user.email_verified'",
    )
    assert verified_event["n"] == 1


def _public(response: Any) -> tuple[int, dict[str, Any]]:
    body = dict(response.json())
    body.pop("request_id", None)
    return response.status_code, body


async def test_verification_over_graphql(api: Any, migrated_database: str) -> None:
    tokens = await api.register("grace.v@example.com")
    token = await mailed_token(
        migrated_database, "user.verification_requested", "grace.v@example.com"
    )
    before = await api.gql("{ account { emailVerified } }", tokens["access_token"])
    assert before["data"]["account"]["emailVerified"] is False

    done = await api.gql("mutation($t: String!) { verifyEmail(token: $t) }", t=token)
    assert done == {"data": {"verifyEmail": True}}
    after = await api.gql("{ account { emailVerified } }", tokens["access_token"])
    assert after["data"]["account"]["emailVerified"] is True

    reused = await api.gql("mutation($t: String!) { verifyEmail(token: $t) }", t=token)
    assert reused["data"] == {"verifyEmail": None}
    assert reused["errors"][0]["extensions"]["code"] == "invalid_token"


async def test_expired_tokens_are_refused(api: Any, migrated_database: str) -> None:
    await api.register("late@example.com")
    token = await mailed_token(migrated_database, "user.verification_requested", "late@example.com")
    await expire_tokens(migrated_database, "verify_email")
    expired = await api.client.post("/api/auth/verify-email", json={"token": token})
    assert error_code(expired) == (400, "invalid_token")

    assert (
        await api.client.post("/api/auth/forgot-password", json={"email": "late@example.com"})
    ).status_code == 202
    reset = await mailed_token(
        migrated_database, "user.password_reset_requested", "late@example.com"
    )
    await expire_tokens(migrated_database, "reset_password")
    refused = await api.client.post(
        "/api/auth/reset-password", json={"token": reset, "password": GOOD_PASSWORD}
    )
    assert error_code(refused) == (400, "invalid_token")
    assert (await api.login("late@example.com")).status_code == 200  # the password is unchanged


async def test_resend_replaces_the_link_and_is_rate_limited(
    make_client: Any, api_for: Any, migrated_database: str
) -> None:
    async with make_client(verification_resend_limit_per_account=2) as client:
        api = api_for(client)
        tokens = await api.register("again@example.com")
        first = await mailed_token(
            migrated_database, "user.verification_requested", "again@example.com"
        )
        url = "/api/auth/verify-email/resend"
        assert (await client.post(url)).status_code == 401  # signed-in only
        resent = await client.post(url, headers=api.bearer(tokens["access_token"]))
        assert resent.status_code == 202, resent.text
        second = await mailed_token(
            migrated_database, "user.verification_requested", "again@example.com"
        )
        assert second != first
        assert (
            await client.post(url, headers=api.bearer(tokens["access_token"]))
        ).status_code == 202
        limited = await client.post(url, headers=api.bearer(tokens["access_token"]))
        assert error_code(limited) == (429, "rate_limited")
        assert "retry-after" in limited.headers

        third = await mailed_token(
            migrated_database, "user.verification_requested", "again@example.com"
        )
        old = await client.post("/api/auth/verify-email", json={"token": first})
        assert error_code(old) == (400, "invalid_token")  # superseded
        assert (
            await client.post("/api/auth/verify-email", json={"token": third})
        ).status_code == 200
    async with make_client() as client:
        api = api_for(client)
        login = (await api.login("again@example.com")).json()
        done = await client.post(url, headers=api.bearer(login["access_token"]))
        assert error_code(done) == (409, "email_already_verified")
        gql = await api.gql("mutation { resendVerificationEmail }", login["access_token"])
        assert gql["errors"][0]["extensions"]["code"] == "email_already_verified"


async def test_unverified_sign_in_refused_when_required(
    make_client: Any, api_for: Any, migrated_database: str
) -> None:
    async with make_client() as client:
        await api_for(client).register("strict@example.com")
    async with make_client(require_verified_email=True) as client:
        api = api_for(client)
        refused = await api.login("strict@example.com")
        assert error_code(refused) == (403, "email_not_verified")
        # a wrong password says nothing about verification
        wrong = await api.login("strict@example.com", "not the password at all")
        assert error_code(wrong) == (401, "invalid_credentials")
        token = await mailed_token(
            migrated_database, "user.verification_requested", "strict@example.com"
        )
        assert (
            await client.post("/api/auth/verify-email", json={"token": token})
        ).status_code == 200
        assert (await api.login("strict@example.com")).status_code == 200


async def test_forgot_password_answers_the_same_for_every_address(
    api: Any, migrated_database: str
) -> None:
    await api.register("known@example.com")
    known = await api.client.post("/api/auth/forgot-password", json={"email": "known@example.com"})
    unknown = await api.client.post(
        "/api/auth/forgot-password", json={"email": "nobody@example.com"}
    )
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert known.headers["content-type"] == unknown.headers["content-type"]
    gql_known = await api.gql('mutation { forgotPassword(email: "known@example.com") }')
    gql_unknown = await api.gql('mutation { forgotPassword(email: "nobody@example.com") }')
    assert gql_known == gql_unknown == {"data": {"forgotPassword": True}}
    # only the account gets a token (and its digest only)
    rows = await fetch(
        migrated_database,
        "SELECT t.token_hash, a.email FROM auth.one_time_tokens t "
        "JOIN auth.accounts a ON a.id = t.account_id WHERE t.purpose = 'reset_password'",
    )
    assert [row["email"] for row in rows] == ["known@example.com"]  # the later one replaced it
    token = await mailed_token(
        migrated_database, "user.password_reset_requested", "known@example.com"
    )
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()


async def test_forgot_password_is_rate_limited_per_address(make_client: Any, api_for: Any) -> None:
    async with make_client(forgot_password_limit_per_address=2) as client:
        for email in ["someone@example.com", "SomeOne@example.com"]:
            answer = await client.post("/api/auth/forgot-password", json={"email": email})
            assert answer.status_code == 202
        limited = await client.post(
            "/api/auth/forgot-password", json={"email": "someone@example.com"}
        )
        assert error_code(limited) == (429, "rate_limited")
        other = await client.post("/api/auth/forgot-password", json={"email": "other@example.com"})
        assert other.status_code == 202


async def test_reset_password_ends_every_session(api: Any, migrated_database: str) -> None:
    first = await api.register("reset@example.com")
    second = (await api.login("reset@example.com")).json()
    client = api.client
    assert (
        await client.post("/api/auth/forgot-password", json={"email": "reset@example.com"})
    ).status_code == 202
    stale = await mailed_token(
        migrated_database, "user.password_reset_requested", "reset@example.com"
    )
    assert (
        await client.post("/api/auth/forgot-password", json={"email": "reset@example.com"})
    ).status_code == 202
    token = await mailed_token(
        migrated_database, "user.password_reset_requested", "reset@example.com"
    )
    superseded = await client.post(
        "/api/auth/reset-password", json={"token": stale, "password": GOOD_PASSWORD}
    )
    assert error_code(superseded) == (400, "invalid_token")

    # the registration's rules; a refused password leaves the link usable
    weak = await client.post("/api/auth/reset-password", json={"token": token, "password": "short"})
    assert error_code(weak) == (422, "weak_password")
    common = await client.post(
        "/api/auth/reset-password", json={"token": token, "password": "password123"}
    )
    assert error_code(common) == (422, "weak_password")

    done = await client.post(
        "/api/auth/reset-password", json={"token": token, "password": GOOD_PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "password_reset"
    # every refresh token and access token of the account stops working
    for tokens in (first, second):
        refresh = await client.post(
            "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refresh.status_code == 401
        assert (await api.me(tokens["access_token"])).status_code == 401
    reused = await client.post(
        "/api/auth/reset-password", json={"token": token, "password": "yet another long secret"}
    )
    assert error_code(reused) == (400, "invalid_token")
    assert (await api.login("reset@example.com")).status_code == 401
    fresh = await api.login("reset@example.com", GOOD_PASSWORD)
    assert fresh.status_code == 200
    # the mail proved the address; the owner is told of the change
    assert fresh.json()["account"]["email_verified"] is True
    [notice] = await fetch(
        migrated_database, "SELECT data FROM auth.outbox WHERE type = 'user.password_changed'"
    )
    assert notice["data"] == '{"reason": "reset"}' or notice["data"] == {"reason": "reset"}


async def test_reset_password_over_graphql(api: Any, migrated_database: str) -> None:
    tokens = await api.register("gql.reset@example.com")
    asked = await api.gql('mutation { forgotPassword(email: "gql.reset@example.com") }')
    assert asked == {"data": {"forgotPassword": True}}
    token = await mailed_token(
        migrated_database, "user.password_reset_requested", "gql.reset@example.com"
    )
    mutation = "mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }"
    done = await api.gql(mutation, i={"token": token, "password": GOOD_PASSWORD})
    assert done == {"data": {"resetPassword": True}}
    again = await api.gql(mutation, i={"token": token, "password": GOOD_PASSWORD})
    assert again["errors"][0]["extensions"]["code"] == "invalid_token"
    assert (await api.me(tokens["access_token"])).status_code == 401
    assert (await api.login("gql.reset@example.com", GOOD_PASSWORD)).status_code == 200


async def test_security_activity_newest_first_in_pages(api: Any) -> None:
    client = api.client
    await api.register("log@example.com")
    for agent in ["agent-1", "agent-2"]:
        signed_in = await client.post(
            "/api/auth/login",
            json={"email": "log@example.com", "password": api.password},
            headers={"User-Agent": agent},
        )
        assert signed_in.status_code == 200
    access = signed_in.json()["access_token"]
    url = "/api/auth/me/security-events"
    assert (await client.get(url)).status_code == 401
    page = await client.get(url, params={"first": 2}, headers=api.bearer(access))
    assert page.status_code == 200, page.text
    body = page.json()
    nodes = [edge["node"] for edge in body["edges"]]
    assert [node["kind"] for node in nodes] == ["sign_in", "sign_in"]
    assert [node["user_agent"] for node in nodes] == ["agent-2", "agent-1"]
    assert nodes[0]["client_address"]
    assert body["page_info"]["has_next_page"] is True
    rest = await client.get(
        url, params={"after": body["page_info"]["end_cursor"]}, headers=api.bearer(access)
    )
    assert [edge["node"]["kind"] for edge in rest.json()["edges"]] == ["sign_in"]
    assert rest.json()["page_info"]["has_next_page"] is False

    query = (
        "query($after: String) { account { securityEvents(first: 2, after: $after) { "
        "edges { cursor node { kind userAgent clientAddress occurredAt } } "
        "pageInfo { hasNextPage endCursor } } } }"
    )
    gql = await api.gql(query, access)
    events = gql["data"]["account"]["securityEvents"]
    assert [edge["node"]["userAgent"] for edge in events["edges"]] == ["agent-2", "agent-1"]
    assert events["pageInfo"]["hasNextPage"] is True

    # another account's log is not visible through the entity
    other = await api.register("other.log@example.com")
    me = (await api.me(access)).json()
    entities = await api.gql(
        "query($r: [_Any!]!) { _entities(representations: $r) { "
        "... on User { id securityEvents { edges { cursor } } } } }",
        other["access_token"],
        r=[{"__typename": "User", "id": me["id"]}],
    )
    assert entities["data"]["_entities"] == [{"id": me["id"], "securityEvents": None}]


async def test_malformed_bodies_are_refused_with_4xx(api: Any) -> None:
    tokens = await api.register("hostile@example.com")
    bodies: list[Any] = [
        None,
        [],
        "text",
        {},
        {"token": None},
        {"token": 12},
        {"token": "x" * 5000},
        {"token": ""},
        {"email": None},
        {"email": "not an address"},
        {"email": "a@b.c", "extra": 1},
        {"token": "abc", "password": None},
        {"token": "abc", "password": "p" * 5000},
        {"token": "abc\x00", "password": GOOD_PASSWORD},
        {"email": "nul\x00@example.com"},
    ]
    for path in ["verify-email", "forgot-password", "reset-password", "verify-email/resend"]:
        for body in bodies:
            response = await api.client.post(
                f"/api/auth/{path}", json=body, headers=api.bearer(tokens["access_token"])
            )
            assert response.status_code < 500, (path, body, response.text)
        raw = await api.client.post(
            f"/api/auth/{path}",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        assert 400 <= raw.status_code < 500, (path, raw.text)
    for params in [
        {"first": 0},
        {"first": 1000},
        {"first": "x"},
        {"after": "garbage!"},
        {"after": "%%"},
    ]:
        page = await api.client.get(
            "/api/auth/me/security-events",
            params=params,
            headers=api.bearer(tokens["access_token"]),
        )
        assert 400 <= page.status_code < 500, (params, page.text)
    cursor = uuid.uuid4().hex
    odd = await api.client.get(
        "/api/auth/me/security-events",
        params={"after": cursor},
        headers=api.bearer(tokens["access_token"]),
    )
    assert 400 <= odd.status_code < 500


async def test_housekeeping_purges_dead_tokens_and_old_log_entries(
    api: Any, direct_state: AuthState, migrated_database: str
) -> None:
    await api.register("tidy@example.com")
    await api.register("kept@example.com")
    await fetch(
        migrated_database,
        "UPDATE auth.one_time_tokens SET used_at = now() - interval '2 days' "
        "WHERE account_id = (SELECT id FROM auth.accounts WHERE email = 'tidy@example.com')",
    )
    await fetch(
        migrated_database,
        "UPDATE auth.security_events SET occurred_at = now() - interval '400 days' "
        "WHERE account_id = (SELECT id FROM auth.accounts WHERE email = 'tidy@example.com')",
    )
    assert await Housekeeping(direct_state).purge_dead_records() == 2  # a token, a sign-in
    tokens = await fetch(
        migrated_database,
        "SELECT a.email FROM auth.one_time_tokens t JOIN auth.accounts a ON a.id = t.account_id",
    )
    assert [row["email"] for row in tokens] == ["kept@example.com"]
    entries = await fetch(
        migrated_database,
        "SELECT a.email FROM auth.security_events e JOIN auth.accounts a ON a.id = e.account_id",
    )
    assert [row["email"] for row in entries] == ["kept@example.com"]
