"""GraphQL subgraph: the same outcomes as REST, federation entities, errors with codes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import strawberry
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event

from nova_kit.app import get_runtime
from nova_users.graphql import build_schema

Client = AsyncTestClient[Litestar]

PROFILE_FIELDS = "id displayName bio avatarUrl locale timezone updatedAt deletedAt"
ME = f"query {{ me {{ {PROFILE_FIELDS} }} }}"
USER = (
    "query($id: ID!, $deleted: Boolean! = false) "
    f"{{ user(id: $id, includeDeleted: $deleted) {{ {PROFILE_FIELDS} }} }}"
)
USERS = """query($first: Int!, $after: String, $search: String, $deleted: Boolean! = false) {
  users(first: $first, after: $after, search: $search, includeDeleted: $deleted) {
    edges { cursor node { id displayName deletedAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
UPDATE = (
    "mutation($input: UpdateProfileInput!) "
    f"{{ updateProfile(input: $input) {{ {PROFILE_FIELDS} }} }}"
)
DELETE = "mutation { deleteAccount }"
RESTORE = "mutation($id: ID!) { restoreUser(id: $id) { id deletedAt } }"
ENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id displayName } }
}"""


def rest_shape(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL user in the REST response's field names."""
    names = {
        "displayName": "display_name",
        "avatarUrl": "avatar_url",
        "updatedAt": "updated_at",
        "deletedAt": "deleted_at",
    }
    return {names.get(key, key): value for key, value in node.items()}


def same_instant(left: str | None, right: str | None) -> bool:
    from datetime import datetime

    if left is None or right is None:
        return left is right
    return datetime.fromisoformat(left) == datetime.fromisoformat(right)


def assert_same_profile(graph: dict[str, Any], rest: dict[str, Any]) -> None:
    shaped = rest_shape(graph)
    # createdAt belongs to auth's part of User (the account's creation time)
    assert shaped.keys() == rest.keys() - {"created_at"}
    for key, value in shaped.items():
        if key.endswith("_at"):
            assert same_instant(value, rest[key]), (key, value, rest[key])
        else:
            assert value == rest[key], (key, value, rest[key])


async def test_me_and_update_give_the_same_outcome_as_rest(
    client: Client, gql: Any, callers: Any, error_codes: Any
) -> None:
    alice = callers.user()
    created = await gql(ME, caller=alice)
    assert created["data"]["me"]["displayName"] == "New user"
    assert_same_profile(
        created["data"]["me"], (await client.get("/api/users/me", headers=alice.headers)).json()
    )

    changes = {"displayName": " Alice ", "locale": "pt-BR", "timezone": "America/Sao_Paulo"}
    updated = await gql(UPDATE, {"input": changes}, alice)
    assert "errors" not in updated, updated
    node = updated["data"]["updateProfile"]
    assert (node["displayName"], node["locale"], node["timezone"]) == (
        "Alice",
        "pt-BR",
        "America/Sao_Paulo",
    )
    assert_same_profile(node, (await client.get("/api/users/me", headers=alice.headers)).json())

    cleared = await gql(UPDATE, {"input": {"locale": None}}, alice)
    assert cleared["data"]["updateProfile"]["locale"] is None
    assert cleared["data"]["updateProfile"]["timezone"] == "America/Sao_Paulo"

    bob = callers.user()
    public = (await gql(USER, {"id": str(alice.user_id)}, bob))["data"]["user"]
    assert_same_profile(
        public, (await client.get(f"/api/users/{alice.user_id}", headers=bob.headers)).json()
    )
    assert public["timezone"] is None


async def test_invalid_input_is_a_validation_error_with_fields(
    gql: Any, callers: Any, error_codes: Any
) -> None:
    alice = callers.user()
    body = await gql(
        UPDATE,
        {"input": {"displayName": "", "avatarUrl": "http://x.test/a.png", "timezone": "Nowhere"}},
        alice,
    )
    assert body["data"] is None
    assert error_codes(body) == ["validation_error"]
    details = body["errors"][0]["extensions"]["details"]
    assert {entry["field"] for entry in details} == {"displayName", "avatarUrl", "timezone"}
    unchanged = (await gql(ME, caller=alice))["data"]["me"]
    assert unchanged["displayName"] == "New user"

    bad_id = await gql(USER, {"id": "not-a-uuid"}, alice)
    assert error_codes(bad_id) == ["validation_error"]

    admin = callers.admin()
    too_many = await gql(USERS, {"first": 1000}, admin)
    assert error_codes(too_many) == ["validation_error"]
    assert "between 1 and 100" in too_many["errors"][0]["message"]
    bad_cursor = await gql(USERS, {"first": 5, "after": "garbage!"}, admin)
    assert error_codes(bad_cursor) == ["validation_error"]


async def test_permission_matrix(gql: Any, callers: Any, error_codes: Any) -> None:
    alice, other, admin = callers.user(), callers.user(), callers.admin()
    anonymous, service = callers.anonymous(), callers.service()
    await gql(ME, caller=alice)
    target = {"id": str(alice.user_id)}

    assert error_codes(await gql(ME, caller=anonymous)) == ["unauthenticated"]
    assert error_codes(await gql(ME, caller=service)) == ["forbidden"]
    assert error_codes(await gql(UPDATE, {"input": {"bio": "x"}}, anonymous)) == ["unauthenticated"]
    assert error_codes(await gql(DELETE, caller=anonymous)) == ["unauthenticated"]
    for caller in (anonymous, other, alice, admin, service):
        seen = await gql(USER, target, caller)
        assert seen["data"]["user"]["id"] == str(alice.user_id), caller.name
    for caller in (other, alice):
        assert error_codes(await gql(USERS, {"first": 5}, caller)) == ["admin_required"]
        assert error_codes(await gql(RESTORE, target, caller)) == ["admin_required"]
        assert error_codes(await gql(USER, {**target, "deleted": True}, caller)) == [
            "admin_required"
        ]
    assert error_codes(await gql(USERS, {"first": 5}, anonymous)) == ["unauthenticated"]
    assert error_codes(await gql(RESTORE, target, anonymous)) == ["unauthenticated"]
    listed = await gql(USERS, {"first": 5}, admin)
    assert [edge["node"]["id"] for edge in listed["data"]["users"]["edges"]] == [str(alice.user_id)]
    assert (await gql(RESTORE, target, admin))["data"]["restoreUser"]["id"] == str(alice.user_id)

    own = (await gql(USER, target, alice))["data"]["user"]
    assert own["deletedAt"] is None
    assert (await gql(USER, target, other))["data"]["user"]["locale"] is None


async def test_soft_delete_hides_the_user_from_user_users_and_entities(
    gql: Any, callers: Any, error_codes: Any
) -> None:
    alice, bob, admin = callers.user(), callers.user(), callers.admin()
    await gql(UPDATE, {"input": {"displayName": "Alice"}}, alice)
    await gql(UPDATE, {"input": {"displayName": "Bob"}}, bob)
    target = {"id": str(alice.user_id)}

    assert (await gql(DELETE, caller=alice))["data"]["deleteAccount"] is True
    assert error_codes(await gql(ME, caller=alice)) == ["profile_deleted"]

    for caller in (bob, admin):
        assert (await gql(USER, target, caller))["data"]["user"] is None
    listed = (await gql(USERS, {"first": 10}, admin))["data"]["users"]["edges"]
    assert [edge["node"]["displayName"] for edge in listed] == ["Bob"]
    representations = [
        {"__typename": "User", "id": str(alice.user_id)},
        {"__typename": "User", "id": str(bob.user_id)},
    ]
    entities = (await gql(ENTITIES, {"representations": representations}, admin))["data"]
    assert entities["_entities"] == [None, {"id": str(bob.user_id), "displayName": "Bob"}]

    as_admin = (await gql(USER, {**target, "deleted": True}, admin))["data"]["user"]
    assert as_admin["displayName"] == "Alice"
    assert as_admin["deletedAt"] is not None
    with_deleted = await gql(USERS, {"first": 10, "deleted": True}, admin)
    names = [edge["node"]["displayName"] for edge in with_deleted["data"]["users"]["edges"]]
    assert sorted(names) == ["Alice", "Bob"]

    restored = await gql(RESTORE, target, admin)
    assert restored["data"]["restoreUser"]["deletedAt"] is None
    assert (await gql(USER, target, bob))["data"]["user"]["displayName"] == "Alice"
    assert (await gql(ME, caller=alice))["data"]["me"]["displayName"] == "Alice"


async def test_entities_of_100_users_take_one_sql_query(
    client: Client, gql: Any, callers: Any
) -> None:
    service = callers.service()
    ids = [uuid.uuid4() for _ in range(100)]
    for index, user_id in enumerate(ids[:60]):
        response = await client.put(
            f"/internal/profiles/{user_id}",
            json={"display_name": f"User {index}"},
            headers=service.headers,
        )
        assert response.status_code == 201

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = get_runtime(client.app).engine
    assert engine is not None
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        representations = [{"__typename": "User", "id": str(user_id)} for user_id in ids]
        body = await gql(ENTITIES, {"representations": representations}, callers.user())
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    entities = body["data"]["_entities"]
    assert len(entities) == 100
    assert [entity["displayName"] for entity in entities[:60]] == [f"User {i}" for i in range(60)]
    assert entities[60:] == [None] * 40
    profile_queries = [text for text in statements if "profiles" in text]
    assert len(profile_queries) == 1, statements


async def test_query_errors_carry_a_code(gql: Any, callers: Any, error_codes: Any) -> None:
    unknown = await gql("query { nope }", caller=callers.user())
    assert error_codes(unknown) == ["graphql_validation_failed"]
    broken = await gql("query { me { id ", caller=callers.user())
    assert error_codes(broken) == ["graphql_validation_failed"]


async def test_a_request_the_graphql_view_cannot_read_is_a_graphql_error(
    client: AsyncTestClient[Litestar],
) -> None:
    malformed = await client.post(
        "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    unsupported = await client.post("/graphql", content=b"x", headers={"content-type": "text/csv"})
    assert unsupported.status_code == 415
    assert unsupported.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    over_get = await client.get("/graphql", params={"query": "mutation { deleteAccount }"})
    assert over_get.status_code == 405
    assert over_get.headers["allow"] == "POST"
    assert over_get.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@strawberry.type
class _Nested:
    leaf: int = 1

    @strawberry.field
    def child(self) -> _Nested:
        return _Nested()


@strawberry.type
class _DeepQuery:
    @strawberry.field
    def node(self) -> _Nested:
        return _Nested()


def _levels_below_the_root(levels: int) -> str:
    inner = "leaf"
    for _ in range(levels - 1):
        inner = f"child {{ {inner} }}"
    return f"{{ node {{ {inner} }} }}"


def test_the_subgraph_refuses_queries_deeper_than_10() -> None:
    # The profile schema is at most four levels deep (users → edges → node → field), so no
    # query can reach the limit today; it guards the types added later. The subgraph's own
    # extensions, on a schema deep enough to try them:
    deep = strawberry.Schema(query=_DeepQuery, extensions=build_schema().extensions)
    assert deep.execute_sync(_levels_below_the_root(10)).errors is None
    refused = deep.execute_sync(_levels_below_the_root(11)).errors
    assert refused is not None
    assert "exceeds maximum operation depth of 10" in refused[0].message


def test_export_sdl_prints_the_subgraph_without_a_server() -> None:
    script = Path(sys.executable).parent / "nova-users"
    result = subprocess.run(
        [str(script), "export-sdl"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    sdl = result.stdout
    assert 'type User @key(fields: "id")' in sdl
    assert "specs.apollo.dev/federation/v2.9" in sdl
    assert "displayName: String!" in sdl
    assert "users(first: Int! = 20" in sdl
    assert "email" not in sdl
    user_type = sdl.split('type User @key(fields: "id") {', 1)[1].split("}", 1)[0]
    assert "createdAt" not in user_type, "auth resolves User.createdAt"
