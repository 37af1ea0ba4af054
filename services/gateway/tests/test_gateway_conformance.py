"""Conformance: operations through the gateway give exactly the response the GraphQL spec and
federation semantics require, over real subgraphs on loopback.

Expected values come from the fixture data in ``conftest.py`` and the spec (aliases, fragments,
``@skip``/``@include``, null propagation), never from the gateway's own output.
"""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

Subgraphs = dict[str, Any]


async def run(
    client: AsyncTestClient[Any], query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def entity_requests(subgraph: Any) -> list[Any]:
    return [r for r in subgraph.requests if "_entities" in r.query]


async def test_root_fields_of_two_subgraphs_are_fetched_in_parallel_requests(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await run(gateway, "{ me { name } topProducts(first: 2) { upc name } }")
    assert body == {
        "data": {
            "me": {"name": "Ada Lovelace"},
            "topProducts": [{"upc": "1", "name": "Table"}, {"upc": "2", "name": "Couch"}],
        }
    }
    assert len(subgraphs["accounts"].requests) == 1
    assert len(subgraphs["products"].requests) == 1


async def test_entities_across_three_subgraphs_with_nested_lists_and_deduplication(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await run(
        gateway, "{ topProducts(first: 3) { name reviews { body author { username name } } } }"
    )
    ada = {"username": "ada", "name": "Ada Lovelace"}
    alan = {"username": "alan", "name": "Alan Turing"}
    assert body == {
        "data": {
            "topProducts": [
                {
                    "name": "Table",
                    "reviews": [
                        {"body": "Love it", "author": ada},
                        {"body": "Sturdy", "author": alan},
                    ],
                },
                {"name": "Couch", "reviews": [{"body": "Too expensive", "author": alan}]},
                {"name": "Chair", "reviews": [{"body": "Could be better", "author": ada}]},
            ]
        }
    }
    (accounts_call,) = subgraphs["accounts"].requests
    # four authors, two distinct users: one request, two representations
    assert accounts_call.variables["representations"] == [
        {"__typename": "User", "id": "1"},
        {"__typename": "User", "id": "2"},
    ]
    (reviews_call,) = subgraphs["reviews"].requests
    assert len(reviews_call.variables["representations"]) == 3


async def test_provides_keeps_the_field_in_the_providing_subgraph(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await run(gateway, "{ reviews { id author { username } } }")
    assert body["data"]["reviews"][:2] == [
        {"id": "r1", "author": {"username": "ada"}},
        {"id": "r2", "author": {"username": "alan"}},
    ]
    assert subgraphs["accounts"].requests == []


async def test_requires_and_compound_key_reached_through_another_subgraph(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await run(gateway, "{ reviews { body product { name inStock shippingEstimate } } }")
    assert body == {
        "data": {
            "reviews": [
                {
                    "body": "Love it",
                    "product": {"name": "Table", "inStock": True, "shippingEstimate": 50},
                },
                {
                    "body": "Too expensive",
                    "product": {"name": "Couch", "inStock": False, "shippingEstimate": 0},
                },
                {
                    "body": "Could be better",
                    "product": {"name": "Chair", "inStock": True, "shippingEstimate": 25},
                },
                {
                    "body": "Sturdy",
                    "product": {"name": "Table", "inStock": True, "shippingEstimate": 50},
                },
            ]
        }
    }
    (inventory_call,) = subgraphs["inventory"].requests
    assert inventory_call.variables["representations"][0] == {
        "__typename": "Product",
        "sku": "T1",
        "brand": "acme",
        "price": 899,
        "weight": 100,
    }
    assert len(inventory_call.variables["representations"]) == 3
    # the shareable name stays in reviews: products is asked for the key and required fields only
    (products_call,) = subgraphs["products"].requests
    assert "name" not in products_call.query


async def test_override_routes_the_field_to_the_overriding_subgraph(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await run(gateway, "{ users { nickname } }")
    assert body == {"data": {"users": [{"nickname": "Ada L."}, {"nickname": "Alan T."}]}}
    assert all("nickname" not in r.query for r in subgraphs["accounts"].requests)


async def test_unresolvable_key_is_never_used_to_enter_a_subgraph(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await run(gateway, "{ me { favoriteProduct { upc name } } }")
    assert body == {"data": {"me": {"favoriteProduct": {"upc": "2", "name": "Couch"}}}}
    assert entity_requests(subgraphs["accounts"]) == []
    assert len(entity_requests(subgraphs["products"])) == 1


async def test_union_members_resolved_by_different_subgraphs(
    gateway: AsyncTestClient[Any],
) -> None:
    query = """{ search(text: "a") {
        __typename
        ... on Product { name inStock }
        ... on User { username name }
    } }"""
    body = await run(gateway, query)
    assert body == {
        "data": {
            "search": [
                {"__typename": "Product", "name": "Table", "inStock": True},
                {"__typename": "Product", "name": "Chair", "inStock": True},
                {"__typename": "User", "username": "ada", "name": "Ada Lovelace"},
                {"__typename": "User", "username": "alan", "name": "Alan Turing"},
            ]
        }
    }


async def test_interface_object_fields_come_from_the_interface_object_subgraph(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    query = """{ media {
        __typename title rating
        ... on Book { author }
        ... on Movie { director }
    } }"""
    body = await run(gateway, query)
    assert body == {
        "data": {
            "media": [
                {"__typename": "Book", "title": "Dune", "rating": 5, "author": "Herbert"},
                {"__typename": "Movie", "title": "Alien", "rating": 4, "director": "Scott"},
            ]
        }
    }
    (reviews_call,) = subgraphs["reviews"].requests
    assert reviews_call.variables["representations"] == [
        {"__typename": "Media", "id": "b1"},
        {"__typename": "Media", "id": "m1"},
    ]


FRAGMENTS_QUERY = """
query Products($upc: String!, $withReviews: Boolean!, $skipName: Boolean = false) {
  first: product(upc: $upc) {
    ...ProductFields
    reviews @include(if: $withReviews) { id }
  }
  second: product(upc: "3") {
    ... on Product { upc }
    title: name @skip(if: $skipName)
    kind: __typename
  }
}
fragment ProductFields on Product { upc title: name }
"""


async def test_fragments_aliases_variables_and_conditions(
    gateway: AsyncTestClient[Any],
) -> None:
    body = await run(gateway, FRAGMENTS_QUERY, {"upc": "1", "withReviews": False})
    assert body == {
        "data": {
            "first": {"upc": "1", "title": "Table"},
            "second": {"upc": "3", "title": "Chair", "kind": "Product"},
        }
    }
    body = await run(gateway, FRAGMENTS_QUERY, {"upc": "1", "withReviews": True, "skipName": True})
    assert body == {
        "data": {
            "first": {"upc": "1", "title": "Table", "reviews": [{"id": "r1"}, {"id": "r4"}]},
            "second": {"upc": "3", "kind": "Product"},
        }
    }


async def test_a_fetch_its_conditions_drop_is_not_sent(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    query = """query($upc: String!, $withReviews: Boolean!, $hideMe: Boolean = true) {
      product(upc: $upc) { name reviews @include(if: $withReviews) { id } }
      me @skip(if: $hideMe) { name }
    }"""
    body = await run(gateway, query, {"upc": "1", "withReviews": False})
    assert body == {"data": {"product": {"name": "Table"}}}
    # Neither the reviews fetch nor the accounts fetch ($hideMe defaults to true) went out.
    assert entity_requests(subgraphs["reviews"]) == []
    assert subgraphs["accounts"].requests == []

    body = await run(gateway, query, {"upc": "1", "withReviews": True, "hideMe": False})
    assert body == {
        "data": {
            "product": {"name": "Table", "reviews": [{"id": "r1"}, {"id": "r4"}]},
            "me": {"name": "Ada Lovelace"},
        }
    }
    assert len(entity_requests(subgraphs["reviews"])) == 1
    assert len(subgraphs["accounts"].requests) == 1


async def test_selections_a_literal_condition_excludes_are_never_fetched(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    query = """{
      product(upc: "1") { name reviews @include(if: false) { id } ... @skip(if: true) { upc } }
      me @skip(if: true) { name }
      hidden: product(upc: "3") { name @include(if: false) }
    }"""
    body = await run(gateway, query)
    assert body == {"data": {"product": {"name": "Table"}, "hidden": {}}}
    # The reviews and accounts fetches would carry only excluded fields: neither went out, and
    # products was asked for nothing the client did not select (``__typename`` stands in for
    # the emptied selection of ``hidden``).
    assert entity_requests(subgraphs["reviews"]) == []
    assert subgraphs["accounts"].requests == []
    (products_call,) = subgraphs["products"].requests
    assert products_call.query == (
        'query { product(upc: "1") { name } hidden: product(upc: "3") { __typename } }'
    )


async def test_root_typename_needs_no_subgraph(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await run(gateway, "{ __typename }")
    assert body == {"data": {"__typename": "Query"}}
    assert all(app.requests == [] for app in subgraphs.values())


async def test_mutations_run_one_root_field_at_a_time_in_order(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    query = """mutation {
      a: renameUser(id: "2", name: "Alan M. Turing") { name }
      b: renameUser(id: "1", name: "Ada King") { name reviews { id } }
    }"""
    body = await run(gateway, query)
    assert body == {
        "data": {
            "a": {"name": "Alan M. Turing"},
            "b": {"name": "Ada King", "reviews": [{"id": "r1"}, {"id": "r3"}]},
        }
    }
    assert subgraphs["accounts"].state.mutations == [
        "renameUser:2:Alan M. Turing",
        "renameUser:1:Ada King",
    ]
    assert len(subgraphs["accounts"].requests) == 2


async def test_subgraph_error_is_repathed_and_tagged(
    gateway: AsyncTestClient[Any],
) -> None:
    body = await run(gateway, 'mutation { failingMutation renameUser(id: "9", name: "x") { id } }')
    assert body["data"] == {"failingMutation": None, "renameUser": None}
    assert body["errors"] == [
        {
            "message": "the mutation failed",
            "path": ["failingMutation"],
            "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "accounts"},
        }
    ]


async def test_entity_errors_land_on_every_list_index_the_entity_fills(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    subgraphs["accounts"].failing_keys.add("2")
    body = await run(gateway, "{ reviews { id author { name } } }")
    assert body["data"] == {
        "reviews": [
            {"id": "r1", "author": {"name": "Ada Lovelace"}},
            {"id": "r2", "author": None},
            {"id": "r3", "author": {"name": "Ada Lovelace"}},
            {"id": "r4", "author": None},
        ]
    }
    assert [e["path"] for e in body["errors"]] == [
        ["reviews", 1, "author"],
        ["reviews", 3, "author"],
    ]
    assert {e["message"] for e in body["errors"]} == {"cannot load User 2"}
    assert {e["extensions"]["serviceName"] for e in body["errors"]} == {"accounts"}


async def test_null_in_non_null_field_propagates_to_the_nullable_parent(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    subgraphs["reviews"].failing_keys.add("3")
    body = await run(
        gateway,
        '{ a: product(upc: "1") { name reviews { id } } '
        'b: product(upc: "3") { name reviews { id } } }',
    )
    assert body["data"] == {
        "a": {"name": "Table", "reviews": [{"id": "r1"}, {"id": "r4"}]},
        "b": None,
    }
    assert body["errors"] == [
        {
            "message": "cannot load Product 3",
            "path": ["b"],
            "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "reviews"},
        }
    ]


async def test_non_null_violation_without_subgraph_error_is_reported(
    gateway: AsyncTestClient[Any],
) -> None:
    # inventory has no stock record for the stool: it answers null for that entity without an
    # error. Product.inStock is non-null, so the product becomes null with a located error.
    body = await run(gateway, '{ product(upc: "4") { name inStock } }')
    assert body == {
        "data": {"product": None},
        "errors": [
            {
                "message": "Cannot return null for non-nullable field Product.inStock.",
                "path": ["product", "inStock"],
            }
        ],
    }


async def test_client_alias_named_like_a_key_field_does_not_clash(
    gateway: AsyncTestClient[Any],
) -> None:
    body = await run(
        gateway,
        '{ product(upc: "3") { upc: name sku: brand inStock reviews { body } } }',
    )
    assert body == {
        "data": {
            "product": {
                "upc": "Chair",
                "sku": "zeta",
                "inStock": True,
                "reviews": [{"body": "Could be better"}],
            }
        }
    }


async def test_implementation_specific_field_from_another_subgraph(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await run(gateway, "{ media { title ... on Movie { inTheaters } } }")
    assert body == {"data": {"media": [{"title": "Dune"}, {"title": "Alien", "inTheaters": True}]}}
    (inventory_call,) = subgraphs["inventory"].requests
    # only the movie is sent: the book's objects are not Movies
    assert inventory_call.variables["representations"] == [{"__typename": "Movie", "id": "m1"}]


async def test_interface_object_field_selected_on_one_implementation(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await run(gateway, "{ media { ... on Book { author rating } } }")
    assert body == {"data": {"media": [{"author": "Herbert", "rating": 5}, {}]}}
    (reviews_call,) = subgraphs["reviews"].requests
    assert reviews_call.variables["representations"] == [{"__typename": "Media", "id": "b1"}]


async def test_entities_inside_nested_lists_keep_their_indexes(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    subgraphs["reviews"].failing_keys.add("2")
    body = await run(gateway, "{ productGrid { name reviews { id } } }")
    assert body["data"] == {
        "productGrid": [
            [{"name": "Table", "reviews": [{"id": "r1"}, {"id": "r4"}]}, None],
            [{"name": "Chair", "reviews": [{"id": "r3"}]}],
            [],
        ]
    }
    assert body["errors"] == [
        {
            "message": "cannot load Product 2",
            "path": ["productGrid", 0, 1],
            "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "reviews"},
        }
    ]


async def test_nested_compound_key(gateway: AsyncTestClient[Any], subgraphs: Subgraphs) -> None:
    body = await run(
        gateway, "{ topProducts { warehouse { code capacity location { country } } } }"
    )
    berlin = {"code": "W1", "capacity": 120, "location": {"country": "DE"}}
    lyon = {"code": "W2", "capacity": 40, "location": {"country": "FR"}}
    assert body == {
        "data": {
            "topProducts": [
                {"warehouse": berlin},
                {"warehouse": lyon},
                {"warehouse": berlin},
                {"warehouse": None},
            ]
        }
    }
    (inventory_call,) = subgraphs["inventory"].requests
    assert inventory_call.variables["representations"] == [
        {"__typename": "Warehouse", "code": "W1", "location": {"city": "Berlin"}},
        {"__typename": "Warehouse", "code": "W2", "location": {"city": "Lyon"}},
    ]
