"""Administrators find accounts (by e-mail, role and state, a page at a time), read an account's
sessions and security log, and disable or re-enable it — over REST and GraphQL alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from .conftest import AuthApi

ACCOUNTS = """
query Accounts($first: Int, $after: String, $search: String, $role: String,
               $status: AccountStatus) {
  accounts(first: $first, after: $after, search: $search, role: $role, status: $status) {
    edges { cursor node { id email roles status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def _people(api: AuthApi, make_admin: Callable[[str], Any], database: str) -> dict[str, Any]:
    """An administrator, three members (one disabled) at two domains; the admin's tokens."""
    admin: dict[str, Any] = await make_admin("root@admins.example")
    for email in ("ann@one.example", "bob@one.example", "cy@two.example"):
        await api.register(email)
    connection = await asyncpg.connect(database)
    try:
        await connection.execute(
            "UPDATE auth.accounts SET status = 'disabled' WHERE email = 'bob@one.example'"
        )
    finally:
        await connection.close()
    return admin


async def _emails(api: AuthApi, token: str, **params: Any) -> list[str]:
    response = await api.client.get("/api/auth/accounts", params=params, headers=api.bearer(token))
    assert response.status_code == 200, response.text
    return [edge["node"]["email"] for edge in response.json()["edges"]]


async def test_rest_filters_combine_and_pages_cover_every_match_once(
    api: AuthApi, make_admin: Callable[[str], Any], migrated_database: str
) -> None:
    admin = await _people(api, make_admin, migrated_database)
    token = admin["access_token"]

    assert await _emails(api, token, search="ONE.example") == ["bob@one.example", "ann@one.example"]
    assert await _emails(api, token, role="admin") == ["root@admins.example"]
    assert await _emails(api, token, status="disabled") == ["bob@one.example"]
    assert await _emails(api, token, search="one.example", status="active") == ["ann@one.example"]
    assert await _emails(api, token, search="%") == []  # a wildcard is a plain character
    ann_id = admin["account"]["id"]
    assert await _emails(api, token, search=ann_id) == ["root@admins.example"]

    seen: list[str] = []
    after: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"first": 1, "role": "user"}
        if after:
            params["after"] = after
        response = await api.client.get(
            "/api/auth/accounts", params=params, headers=api.bearer(token)
        )
        body = response.json()
        seen += [edge["node"]["email"] for edge in body["edges"]]
        if not body["page_info"]["has_next_page"]:
            break
        after = body["page_info"]["end_cursor"]
    assert sorted(seen) == sorted(
        ["root@admins.example", "ann@one.example", "bob@one.example", "cy@two.example"]
    )
    assert len(seen) == len(set(seen))


async def test_rest_bad_input_is_a_validation_error_and_members_are_refused(
    api: AuthApi, make_admin: Callable[[str], Any], migrated_database: str
) -> None:
    admin = await _people(api, make_admin, migrated_database)
    headers = api.bearer(admin["access_token"])
    bad: list[dict[str, Any]] = [{"role": "owner"}, {"status": "sleeping"}, {"after": "nope"}]
    for params in bad:
        response = await api.client.get("/api/auth/accounts", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["code"] == "validation_error"
    out_of_range: list[dict[str, Any]] = [{"first": 0}, {"first": 101}, {"search": "x" * 201}]
    for params in out_of_range:
        response = await api.client.get("/api/auth/accounts", params=params, headers=headers)
        assert response.status_code in {400, 422}, (params, response.text)
        assert response.json()["code"] == "validation_error"

    member = (await api.login("ann@one.example")).json()["access_token"]
    some_id = admin["account"]["id"]
    for path in (
        "/api/auth/accounts",
        f"/api/auth/accounts/{some_id}/sessions",
        f"/api/auth/accounts/{some_id}/security-events",
    ):
        refused = await api.client.get(path, headers=api.bearer(member))
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "admin_required"
    anonymous = await api.client.get("/api/auth/accounts")
    assert anonymous.status_code == 401


async def test_rest_detail_shows_sessions_and_the_log_with_the_acting_administrator(
    api: AuthApi, make_admin: Callable[[str], Any], migrated_database: str
) -> None:
    admin = await _people(api, make_admin, migrated_database)
    headers = api.bearer(admin["access_token"])
    ann = (await api.login("ann@one.example")).json()
    ann_id = ann["account"]["id"]

    sessions = await api.client.get(f"/api/auth/accounts/{ann_id}/sessions", headers=headers)
    assert sessions.status_code == 200, sessions.text
    assert len(sessions.json()) == 2  # registration's sign-in and this one
    assert all(row["revoked_at"] is None for row in sessions.json())

    disabled = await api.client.post(f"/api/auth/accounts/{ann_id}/disable", headers=headers)
    assert disabled.json()["status"] == "disabled"
    sessions = await api.client.get(f"/api/auth/accounts/{ann_id}/sessions", headers=headers)
    assert all(row["revoked_at"] is not None for row in sessions.json())

    log = await api.client.get(f"/api/auth/accounts/{ann_id}/security-events", headers=headers)
    newest = log.json()["edges"][0]["node"]
    assert newest["kind"] == "account_disabled"
    assert newest["actor"] == admin["account"]["id"]

    missing = await api.client.get(
        "/api/auth/accounts/00000000-0000-0000-0000-000000000000/sessions", headers=headers
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "account_not_found"


async def test_graphql_accounts_filters_pages_and_admin_mutations(
    api: AuthApi, make_admin: Callable[[str], Any], migrated_database: str
) -> None:
    admin = await _people(api, make_admin, migrated_database)
    token = admin["access_token"]

    body = await api.gql(ACCOUNTS, token, search="one.example", status="DISABLED")
    assert [edge["node"]["email"] for edge in body["data"]["accounts"]["edges"]] == [
        "bob@one.example"
    ]
    body = await api.gql(ACCOUNTS, token, first=2, role="user")
    first_page = body["data"]["accounts"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    body = await api.gql(
        ACCOUNTS, token, first=2, role="user", after=first_page["pageInfo"]["endCursor"]
    )
    rest = body["data"]["accounts"]
    emails = [e["node"]["email"] for e in first_page["edges"] + rest["edges"]]
    assert len(emails) == 4
    assert len(set(emails)) == 4
    assert rest["pageInfo"]["hasNextPage"] is False

    bad = await api.gql(ACCOUNTS, token, role="owner")
    assert bad["errors"][0]["extensions"]["code"] == "validation_error"
    bad = await api.gql(ACCOUNTS, token, first=500)
    assert bad["errors"][0]["extensions"]["code"] == "validation_error"

    member = (await api.login("ann@one.example")).json()
    refused = await api.gql(ACCOUNTS, member["access_token"])
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"

    # Members see neither others' sessions nor the actor of their own log.
    mine = await api.gql(
        "{ account { sessions { id } "
        "securityEvents(first: 5) { edges { node { kind actor } } } } }",
        member["access_token"],
    )
    assert mine["data"]["account"]["sessions"] is None
    actors = [e["node"]["actor"] for e in mine["data"]["account"]["securityEvents"]["edges"]]
    assert actors
    assert all(actor is None for actor in actors)

    ann_id = member["account"]["id"]
    disable = """mutation($id: ID!) { disableAccount(id: $id, reason: "phished") {
        id status sessions { revokedAt } securityEvents(first: 1) { edges { node { kind actor } } }
    } }"""
    done = await api.gql(disable, token, id=ann_id)
    account = done["data"]["disableAccount"]
    assert account["status"] == "DISABLED"
    assert account["sessions"]
    assert all(s["revokedAt"] for s in account["sessions"])
    event = account["securityEvents"]["edges"][0]["node"]
    assert event == {"kind": "account_disabled", "actor": admin["account"]["id"]}

    enable = "mutation($id: ID!) { enableAccount(id: $id) { status } }"
    assert (await api.gql(enable, token, id=ann_id))["data"]["enableAccount"]["status"] == "ACTIVE"
    other = (await api.login("cy@two.example")).json()["access_token"]
    refused = await api.gql(enable, other, id=ann_id)
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"
    own = await api.gql(disable, token, id=admin["account"]["id"])
    assert own["errors"][0]["extensions"]["code"] == "cannot_disable_self"
    nobody = await api.gql(enable, token, id="not-an-id")
    assert nobody["errors"][0]["extensions"]["code"] == "account_not_found"
