"""Faults: a killed, slow, broken or lying subgraph costs only the data it owns. The client gets
the rest with located errors naming the subgraph, never a 500, and the gateway stays ready."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from nova_gateway.federation.execution.transport import (
    SUBREQUEST_HTTP_ERROR,
    SUBREQUEST_MALFORMED_RESPONSE,
    SUBREQUEST_TIMEOUT,
)

Subgraphs = dict[str, Any]
PRODUCT_WITH_REVIEWS = '{ me { name } product(upc: "1") { name reviews { body } } }'


async def post(client: AsyncTestClient[Any], query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def assert_ready(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200, response.text


def closed_port_url() -> str:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/graphql"


async def test_killed_entity_subgraph_keeps_the_rest_of_the_data(
    make_gateway: Callable[..., AsyncTestClient[Any]], subgraphs: Subgraphs
) -> None:
    urls = {name: app.url for name, app in subgraphs.items()}
    urls["reviews"] = closed_port_url()
    async with make_gateway(subgraph_urls=urls) as client:
        body = await post(client, PRODUCT_WITH_REVIEWS)
        assert body["data"] == {"me": {"name": "Ada Lovelace"}, "product": None}
        (error,) = body["errors"]
        assert error["path"] == ["product", "reviews"]
        assert error["extensions"] == {"code": SUBREQUEST_HTTP_ERROR, "serviceName": "reviews"}
        # the subgraph's name and a stable code; its address only in the log
        assert error["message"] == "subgraph reviews is unreachable"
        assert "127.0.0.1" not in str(body)
        await assert_ready(client)


async def test_killed_root_subgraph_nulls_only_its_root_fields(
    make_gateway: Callable[..., AsyncTestClient[Any]], subgraphs: Subgraphs
) -> None:
    urls = {name: app.url for name, app in subgraphs.items()}
    urls["accounts"] = closed_port_url()
    async with make_gateway(subgraph_urls=urls) as client:
        body = await post(client, "{ me { name } topProducts(first: 1) { name } }")
        assert body["data"] == {"me": None, "topProducts": [{"name": "Table"}]}
        (error,) = body["errors"]
        assert error["path"] == ["me"]
        assert error["extensions"] == {"code": SUBREQUEST_HTTP_ERROR, "serviceName": "accounts"}
        await assert_ready(client)


async def test_subgraph_slower_than_its_timeout(
    make_gateway: Callable[..., AsyncTestClient[Any]], subgraphs: Subgraphs
) -> None:
    subgraphs["reviews"].fault.mode = "slow"
    subgraphs["reviews"].fault.delay_seconds = 1.5
    async with make_gateway(subgraph_timeouts={"reviews": 0.2}) as client:
        body = await post(client, PRODUCT_WITH_REVIEWS)
        assert body["data"] == {"me": {"name": "Ada Lovelace"}, "product": None}
        assert body["errors"] == [
            {
                "message": "subgraph reviews timed out after 0.2s",
                "path": ["product", "reviews"],
                "extensions": {"code": SUBREQUEST_TIMEOUT, "serviceName": "reviews"},
            }
        ]
        await assert_ready(client)


@pytest.mark.parametrize(
    ("mode", "code", "message"),
    [
        ("http500", SUBREQUEST_HTTP_ERROR, "subgraph reviews answered HTTP 500"),
        (
            "malformed",
            SUBREQUEST_MALFORMED_RESPONSE,
            "subgraph reviews returned an invalid GraphQL response",
        ),
        (
            "wrong_count",
            SUBREQUEST_MALFORMED_RESPONSE,
            "subgraph reviews returned 0 entities for 1 representations",
        ),
    ],
)
async def test_broken_entity_responses(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs, mode: str, code: str, message: str
) -> None:
    subgraphs["reviews"].fault.mode = mode
    body = await post(
        gateway,
        '{ a: product(upc: "1") { name reviews { body } } '
        'b: product(upc: "2") { name } c: product(upc: "3") { reviews { body } } }',
    )
    assert body["data"] == {"a": None, "b": {"name": "Couch"}, "c": None}
    assert body["errors"] == [
        {
            "message": message,
            "path": [key, "reviews"],
            "extensions": {"code": code, "serviceName": "reviews"},
        }
        for key in ("a", "c")
    ]
    await assert_ready(gateway)


async def test_broken_root_response_nulls_its_fields(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    subgraphs["products"].fault.mode = "malformed"
    body = await post(gateway, "{ me { name } topProducts { name } }")
    # topProducts is non-null: its null propagates to data, per the spec
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "subgraph products returned an invalid GraphQL response",
                "path": ["topProducts"],
                "extensions": {
                    "code": SUBREQUEST_MALFORMED_RESPONSE,
                    "serviceName": "products",
                },
            }
        ],
    }


async def test_too_few_entities_for_a_list(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    subgraphs["accounts"].fault.mode = "wrong_count"
    body = await post(gateway, "{ reviews { id author { name } } }")
    assert body["data"] == {"reviews": [{"id": f"r{i}", "author": None} for i in range(1, 5)]}
    assert body["errors"] == [
        {
            "message": "subgraph accounts returned 1 entities for 2 representations",
            "path": ["reviews", index, "author", "name"],
            "extensions": {"code": SUBREQUEST_MALFORMED_RESPONSE, "serviceName": "accounts"},
        }
        for index in (0, 2, 1, 3)
    ]


async def test_subgraph_killed_and_restarted_while_the_gateway_runs(
    make_gateway: Callable[..., AsyncTestClient[Any]],
    subgraphs: Subgraphs,
    start_subgraph: Callable[[str, int], Any],
) -> None:
    reviews = start_subgraph("reviews", 0)
    urls = {name: app.url for name, app in subgraphs.items()} | {"reviews": reviews.url}
    query = '{ product(upc: "3") { name reviews { body } } }'
    healthy = {"data": {"product": {"name": "Chair", "reviews": [{"body": "Could be better"}]}}}
    async with make_gateway(subgraph_urls=urls) as client:
        assert await post(client, query) == healthy  # a pooled keep-alive connection now exists
        reviews.stop()
        body = await post(client, query)
        assert body["data"] == {"product": None}
        (error,) = body["errors"]
        assert error["path"] == ["product", "reviews"]
        assert error["extensions"]["serviceName"] == "reviews"
        await assert_ready(client)
        start_subgraph("reviews", reviews.port)
        assert await post(client, query) == healthy
