"""Conformance: operations through the gateway give exactly the response the GraphQL spec and
federation semantics require, over real subgraphs on loopback."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient


async def run(client: AsyncTestClient[Any], query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_root_fields_of_two_subgraphs(gateway: AsyncTestClient[Any]) -> None:
    body = await run(gateway, "{ me { name } topProducts(first: 2) { upc name } }")
    assert body == {
        "data": {
            "me": {"name": "Ada Lovelace"},
            "topProducts": [{"upc": "1", "name": "Table"}, {"upc": "2", "name": "Couch"}],
        }
    }
