"""Root fields that Strawberry resolves concurrently never share a database session.

One operation selecting several root fields at once (``me``, ``user``, ``users``, ``_entities``)
used to fail with SQLAlchemy's "concurrent operations are not permitted": every resolver ran on
the request's one ``AsyncSession``. Each service call is now a unit of work of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]

TOGETHER = """query($id: ID!, $other: ID!, $reps: [_Any!]!) {
  me { id displayName locale }
  user(id: $id) { id displayName }
  missing: user(id: $other) { id }
  deleted: user(id: $id, includeDeleted: true) { id deletedAt }
  users(first: 10) { edges { node { id displayName } } pageInfo { hasNextPage } }
  again: users(first: 1) { edges { cursor } }
  _entities(representations: $reps) { ... on User { id displayName } }
}"""


async def test_several_root_fields_resolve_together(client: Client, gql: Any, callers: Any) -> None:
    admin = callers.admin()
    bob = callers.user()
    for caller in (admin, bob):
        created = await gql("{ me { id } }", caller=caller)
        assert created["data"]["me"]["id"] == str(caller.user_id)

    variables = {
        "id": str(bob.user_id),
        "other": str(uuid.uuid4()),
        "reps": [
            {"__typename": "User", "id": str(bob.user_id)},
            {"__typename": "User", "id": str(admin.user_id)},
        ],
    }
    body = await gql(TOGETHER, variables, caller=admin)
    assert "errors" not in body, body["errors"]
    data = body["data"]
    assert data["me"]["id"] == str(admin.user_id)
    assert data["user"] == {"id": str(bob.user_id), "displayName": "New user"}
    assert data["missing"] is None
    assert data["deleted"] == {"id": str(bob.user_id), "deletedAt": None}
    listed = {edge["node"]["id"] for edge in data["users"]["edges"]}
    assert listed == {str(bob.user_id), str(admin.user_id)}
    assert len(data["again"]["edges"]) == 1
    assert data["_entities"] == [
        {"id": str(bob.user_id), "displayName": "New user"},
        {"id": str(admin.user_id), "displayName": "New user"},
    ]


async def test_concurrent_first_reads_of_one_profile_create_it_once(
    client: Client, callers: Any
) -> None:
    carol = callers.user()
    query = "{ a: me { id } b: me { id } c: me { id } d: me { id } }"

    async def ask() -> dict[str, Any]:
        response = await client.post("/graphql", json={"query": query}, headers=carol.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    bodies = await asyncio.gather(*(ask() for _ in range(4)))
    for body in bodies:
        assert "errors" not in body, body["errors"]
        assert {value["id"] for value in body["data"].values()} == {str(carol.user_id)}
