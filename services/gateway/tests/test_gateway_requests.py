"""Request handling: validation and limits before any subgraph call, GET rules, batching,
introspection, forwarded headers, the plan cache and readiness."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from graphql import get_introspection_query, parse
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from nova_gateway.config import GatewaySettings
from nova_gateway.federation.limits import field_merges, operation_shapes

Subgraphs = dict[str, Any]


def calls(subgraphs: Subgraphs) -> int:
    return sum(len(app.requests) for app in subgraphs.values())


async def rejected(client: AsyncTestClient[Any], query: str, status: int = 400) -> dict[str, Any]:
    """A request error: 4xx with graphql-response+json (and no ``data``)."""
    response = await client.post(
        "/graphql", json={"query": query}, headers={"Accept": "application/graphql-response+json"}
    )
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert "data" not in body
    return body


def deep_query(depth: int) -> str:
    # me { favoriteProduct { reviews { author { favoriteProduct ... } } } }
    fields = ["me", "favoriteProduct", "reviews", "author"]
    chain = [fields[0]] + [fields[1 + (i % 3)] for i in range(depth - 2)]
    inner = "id" if len(chain) % 2 else "upc"
    query = inner
    for name in reversed(chain):
        query = f"{name} {{ {query} }}"
    return "{ " + query + " }"


async def test_invalid_operation_is_rejected_before_any_subgraph_call(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await rejected(gateway, "{ me { zzz } }")
    (error,) = body["errors"]
    assert error["message"] == "Cannot query field 'zzz' on type 'User'."
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert error["locations"] == [{"line": 1, "column": 8}]
    assert calls(subgraphs) == 0


async def test_inaccessible_field_is_not_queryable(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    body = await rejected(gateway, "{ me { email } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert calls(subgraphs) == 0


async def test_syntax_error(gateway: AsyncTestClient[Any]) -> None:
    body = await rejected(gateway, "{ me { name }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


@pytest.mark.parametrize(
    ("overrides", "query", "code"),
    [
        ({"max_depth": 3}, "{ me { favoriteProduct { reviews { id } } } }", "MAX_DEPTH_EXCEEDED"),
        ({"max_aliases": 1}, "{ a: me { id } b: me { id } }", "MAX_ALIASES_EXCEEDED"),
        (
            {"max_root_fields": 2},
            "{ me { id } users { id } reviews { id } }",
            "MAX_ROOT_FIELDS_EXCEEDED",
        ),
        ({"max_fields": 3}, "{ me { id name username } }", "MAX_FIELDS_EXCEEDED"),
        ({"max_repeated_fields": 2}, "{ me { id id id } }", "MAX_REPEATED_FIELDS_EXCEEDED"),
        ({"max_field_merges": 10}, "{ me { id id id } }", "MAX_FIELD_MERGES_EXCEEDED"),
        (
            {"max_tokens": 10},
            "{ me { id name username nickname } users { id name username } }",
            "TOKEN_LIMIT_EXCEEDED",
        ),
    ],
)
async def test_limits_reject_with_a_code_and_no_subgraph_call(
    make_gateway: Callable[..., AsyncTestClient[Any]],
    subgraphs: Subgraphs,
    overrides: dict[str, Any],
    query: str,
    code: str,
) -> None:
    async with make_gateway(**overrides) as client:
        body = await rejected(client, query)
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert calls(subgraphs) == 0


async def test_default_depth_limit_is_ten(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    ok = await gateway.post("/graphql", json={"query": deep_query(10)})
    assert ok.status_code == 200
    assert "errors" not in ok.json(), ok.json()
    before = calls(subgraphs)
    body = await rejected(gateway, deep_query(11))
    assert body["errors"][0]["extensions"]["code"] == "MAX_DEPTH_EXCEEDED"
    assert calls(subgraphs) == before


async def test_body_size_limit(make_gateway: Callable[..., AsyncTestClient[Any]]) -> None:
    async with make_gateway(max_body_bytes=1024) as client:
        padding = " " * 2048
        response = await client.post("/graphql", json={"query": "{ me { id } }" + padding})
    assert response.status_code == 413


async def test_get_runs_queries(gateway: AsyncTestClient[Any]) -> None:
    response = await gateway.get(
        "/graphql",
        params={"query": "query($id: ID!) { user(id: $id) { name } }", "variables": '{"id": "2"}'},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"user": {"name": "Alan Turing"}}}


async def test_get_never_runs_a_mutation(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    response = await gateway.get(
        "/graphql", params={"query": 'mutation { renameUser(id: "1", name: "x") { id } }'}
    )
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert calls(subgraphs) == 0


async def test_variables_are_validated(gateway: AsyncTestClient[Any], subgraphs: Subgraphs) -> None:
    response = await gateway.post(
        "/graphql", json={"query": "query($id: ID!) { user(id: $id) { name } }", "variables": {}}
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in body
    assert calls(subgraphs) == 0


async def test_operation_name_selects_the_operation(gateway: AsyncTestClient[Any]) -> None:
    document = 'query A { me { name } } query B { user(id: "2") { name } }'
    response = await gateway.post("/graphql", json={"query": document, "operationName": "B"})
    assert response.json() == {"data": {"user": {"name": "Alan Turing"}}}
    response = await gateway.post(
        "/graphql",
        json={"query": document},
        headers={"Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_one_document_answers_each_request_by_its_own_variables(
    gateway: AsyncTestClient[Any],
) -> None:
    """The shaping stage keeps what it collected from a document across requests only when no
    variable decides the selection: here one does, and each request gets its own answer."""
    document = (
        "query($full: Boolean!) { me { name ... on User @include(if: $full) { username } "
        "... P @skip(if: $full) } } fragment P on User { id }"
    )
    answers = []
    for full in (True, False, True, False):
        response = await gateway.post(
            "/graphql", json={"query": document, "variables": {"full": full}}
        )
        answers.append(response.json())
    full_answer = {"data": {"me": {"name": "Ada Lovelace", "username": "ada"}}}
    short_answer = {"data": {"me": {"name": "Ada Lovelace", "id": "1"}}}
    assert answers == [full_answer, short_answer, full_answer, short_answer]
    # A document without such a variable answers the same on every request.
    static = "{ me { name ... on User @include(if: true) { username } } }"
    for _ in range(2):
        response = await gateway.post("/graphql", json={"query": static})
        assert response.json() == {"data": {"me": {"name": "Ada Lovelace", "username": "ada"}}}


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/graphql", "json"],
)
async def test_post_takes_json_only(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs, content_type: str | None
) -> None:
    before = calls(subgraphs)
    headers = {"content-type": content_type} if content_type else {}
    response = await gateway.post(
        "/graphql", content=b'{"query": "{ me { id } }"}', headers=headers
    )
    assert response.status_code == 415, response.text
    assert response.headers["accept-post"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert calls(subgraphs) == before


async def test_json_with_parameters_is_json(gateway: AsyncTestClient[Any]) -> None:
    response = await gateway.post(
        "/graphql",
        content=b'{"query": "{ me { id } }"}',
        headers={"content-type": "Application/JSON; charset=utf-8"},
    )
    assert response.json() == {"data": {"me": {"id": "1"}}}


async def test_batching_is_off_by_default(gateway: AsyncTestClient[Any]) -> None:
    response = await gateway.post("/graphql", json=[{"query": "{ me { id } }"}])
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_batching_when_enabled(make_gateway: Callable[..., AsyncTestClient[Any]]) -> None:
    async with make_gateway(batching=True, max_batch_size=2) as client:
        response = await client.post(
            "/graphql",
            json=[{"query": "{ me { id } }"}, {"query": '{ user(id: "2") { name } }'}],
        )
        assert response.json() == [
            {"data": {"me": {"id": "1"}}},
            {"data": {"user": {"name": "Alan Turing"}}},
        ]
        too_many = await client.post("/graphql", json=[{"query": "{ me { id } }"}] * 3)
        assert too_many.status_code == 400


async def test_introspection_on_in_test_shows_the_api_schema_only(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    response = await gateway.post(
        "/graphql",
        json={
            "query": '{ __schema { queryType { name } } user: __type(name: "User") '
            '{ fields { name } } join: __type(name: "join__Graph") { name } }'
        },
    )
    body = response.json()
    assert body["data"]["__schema"] == {"queryType": {"name": "Query"}}
    names = [f["name"] for f in body["data"]["user"]["fields"]]
    assert names == ["id", "name", "username", "nickname", "favoriteProduct", "reviews"]
    assert body["data"]["join"] is None
    assert calls(subgraphs) == 0


async def test_introspection_mixed_with_data(gateway: AsyncTestClient[Any]) -> None:
    response = await gateway.post(
        "/graphql", json={"query": '{ me { name } t: __type(name: "Review") { name } }'}
    )
    assert response.json() == {"data": {"me": {"name": "Ada Lovelace"}, "t": {"name": "Review"}}}


async def test_the_standard_introspection_query_passes_the_depth_limit(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    # GraphQL tools (IDEs, code generators, schemathesis) send this query; its nine nested
    # ``ofType`` levels unwrap types one to one and do not count towards the depth limit.
    response = await gateway.post("/graphql", json={"query": get_introspection_query()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    assert calls(subgraphs) == 0
    # Fields that fan out still count, inside introspection too.
    fan_out = "{ __schema { types { fields { type { fields { type { fields { type { fields "
    fan_out += "{ type { fields { name } } } } } } } } } } } }"
    body = await rejected(gateway, fan_out)
    assert body["errors"][0]["extensions"]["code"] == "MAX_DEPTH_EXCEEDED"
    # ``ofType`` outside introspection is an ordinary field and counts.
    assert _depth_of("{ a { ofType { ofType { b } } } }") == 4
    assert _depth_of('{ __type(name: "A") { ofType { ofType { name } } } }') == 2


def _depth_of(query: str) -> int:
    ((_, shape),) = operation_shapes(parse(query))
    return shape.depth


async def test_introspection_can_be_turned_off(
    make_gateway: Callable[..., AsyncTestClient[Any]],
) -> None:
    async with make_gateway(introspection=False) as client:
        body = await rejected(client, "{ __schema { types { name } } }")
        assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        ok = await client.post("/graphql", json={"query": "{ __typename me { __typename } }"})
        assert ok.json() == {"data": {"__typename": "Query", "me": {"__typename": "User"}}}


def test_introspection_defaults_to_off_in_production() -> None:
    assert GatewaySettings(environment="dev").introspection_enabled is True
    assert GatewaySettings(environment="test").introspection_enabled is True
    prod: dict[str, Any] = {
        "environment": "prod",
        "redis_url": "redis://redis.internal:6379/0",
        "jwks_url": "http://auth:8001/.well-known/jwks.json",
    }
    assert GatewaySettings(**prod).introspection_enabled is False
    assert GatewaySettings(**prod, introspection=True).introspection_enabled is True


async def test_forwarded_headers(gateway: AsyncTestClient[Any], subgraphs: Subgraphs) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await gateway.post(
        "/graphql",
        json={"query": "{ me { name } }"},
        headers={
            "Authorization": "Bearer abc",
            "traceparent": traceparent,
            "X-Request-ID": "req-42",
            "Cookie": "session=secret",
        },
    )
    (request,) = subgraphs["accounts"].requests
    assert request.headers["authorization"] == "Bearer abc"
    assert request.headers["x-request-id"] == "req-42"
    assert request.headers["traceparent"].split("-")[1] == traceparent.split("-")[1]
    assert "cookie" not in request.headers


async def test_header_rules_are_configurable(
    make_gateway: Callable[..., AsyncTestClient[Any]], subgraphs: Subgraphs
) -> None:
    async with make_gateway(forward_headers=["x-tenant"]) as client:
        await client.post(
            "/graphql",
            json={"query": "{ me { name } }"},
            headers={"Authorization": "Bearer abc", "X-Tenant": "t1"},
        )
    (request,) = subgraphs["accounts"].requests
    assert request.headers["x-tenant"] == "t1"
    assert "authorization" not in request.headers


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_plan_cache_hits_and_fetch_metrics(gateway: AsyncTestClient[Any]) -> None:
    query = "{ me { name } }"
    hits = metric("gateway_plan_cache_lookups_total", result="hit")
    misses = metric("gateway_plan_cache_lookups_total", result="miss")
    fetches = metric("gateway_subgraph_fetches_total", subgraph="accounts", outcome="success")
    await gateway.post("/graphql", json={"query": query})
    await gateway.post("/graphql", json={"query": "  {  me {   name } }"})
    assert metric("gateway_plan_cache_lookups_total", result="miss") == misses + 1
    assert metric("gateway_plan_cache_lookups_total", result="hit") == hits + 1
    assert (
        metric("gateway_subgraph_fetches_total", subgraph="accounts", outcome="success")
        == fetches + 2
    )
    exposition = (await gateway.get("/metrics")).text
    assert "gateway_subgraph_fetch_duration_seconds_bucket" in exposition
    assert "gateway_supergraph_info{sha256=" in exposition


async def test_ready_names_the_loaded_supergraph(gateway: AsyncTestClient[Any]) -> None:
    import hashlib
    from pathlib import Path

    sdl = (Path(__file__).parent / "fixtures" / "supergraph.graphql").read_bytes()
    response = await gateway.get("/ready")
    assert response.status_code == 200
    assert hashlib.sha256(sdl).hexdigest() in response.text


async def test_not_ready_without_a_supergraph(
    make_gateway: Callable[..., AsyncTestClient[Any]], tmp_path: Any
) -> None:
    async with make_gateway(supergraph=str(tmp_path / "missing.graphql")) as client:
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert "supergraph" in ready.text
        health = await client.get("/health")
        assert health.status_code == 200
        response = await client.post("/graphql", json={"query": "{ me { id } }"})
        assert response.status_code == 503
        assert response.json()["errors"][0]["extensions"]["code"] == "SUPERGRAPH_NOT_LOADED"


async def test_unexpected_exception_is_masked_with_the_request_id(
    gateway: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nova_gateway.federation.engine import FederationEngine

    async def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(FederationEngine, "execute", explode)
    response = await gateway.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"X-Request-ID": "req-masked-1"}
    )
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "message": "Internal server error",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-masked-1"},
            }
        ]
    }
    assert "secret" not in response.text


async def test_get_without_a_query(gateway: AsyncTestClient[Any]) -> None:
    response = await gateway.get("/graphql")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_request_id_is_forwarded_even_when_the_client_sends_none(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    response = await gateway.post("/graphql", json={"query": "{ me { id } }"})
    (request,) = subgraphs["accounts"].requests
    assert request.headers["x-request-id"] == response.headers["x-request-id"]


async def test_the_served_supergraph_follows_the_file(
    make_gateway: Callable[..., AsyncTestClient[Any]], tmp_path: Any
) -> None:
    import anyio

    from nova_gateway.federation.supergraph.parse import parse_supergraph

    source = (Path(__file__).parent / "fixtures" / "supergraph.graphql").read_text()
    path = tmp_path / "supergraph.graphql"
    path.write_text(source)
    async with make_gateway(supergraph=str(path), supergraph_poll_seconds=0.05) as client:
        assert parse_supergraph(source).sdl_hash in (await client.get("/ready")).text
        # an invalid file is ignored: the gateway keeps serving the last good supergraph
        path.write_text("type Query {")
        await anyio.sleep(0.3)
        ok = await client.post("/graphql", json={"query": "{ me { name } }"})
        assert ok.json() == {"data": {"me": {"name": "Ada Lovelace"}}}
        # a new valid supergraph is picked up: here one without Query.topProducts
        changed = source.replace(
            "  topProducts(first: Int = 5): [Product!]! @join__field(graph: PRODUCTS)\n", ""
        )
        assert changed != source
        path.write_text(changed)
        expected = parse_supergraph(changed).sdl_hash
        for _ in range(100):
            if expected in (await client.get("/ready")).text:
                break
            await anyio.sleep(0.05)
        assert expected in (await client.get("/ready")).text
        gone = await client.post(
            "/graphql",
            json={"query": "{ topProducts { upc } }"},
            headers={"Accept": "application/graphql-response+json"},
        )
        assert gone.status_code == 400


def test_subgraph_error_paths_never_show_internal_aliases() -> None:
    from nova_gateway.federation.errors import subgraph_error

    error = subgraph_error(
        {"message": "boom", "path": ["product", "_nova_upc"]}, "products", ["product", "_nova_upc"]
    )
    assert error == {
        "message": "boom",
        "path": ["product"],
        "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "products"},
    }


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next twice: ~1 KB of text, 2^levels fields once expanded."""
    fragments = [f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(1, levels)]
    fragments.append(f"fragment F{levels} on User {{ id }}")
    return "{ me { ...F1 } } " + " ".join(fragments)


@pytest.mark.parametrize("levels", [20, 30, 300])
async def test_a_fragment_bomb_is_refused_by_its_expanded_size(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs, levels: int
) -> None:
    body = await rejected(gateway, fragment_bomb(levels))
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert codes == {
        "MAX_FIELDS_EXCEEDED",
        "MAX_REPEATED_FIELDS_EXCEEDED",
        "MAX_FIELD_MERGES_EXCEEDED",
    }
    assert f"limit is {1000}" in body["errors"][0]["message"]
    assert calls(subgraphs) == 0


def test_expanded_sizes_are_counted_without_expanding() -> None:
    ((_, shape),) = operation_shapes(parse(fragment_bomb(300)))
    assert shape.fields == 1 + 2**299  # one memoised pass; expanding would never finish
    ((_, shape),) = operation_shapes(
        parse("{ a { ...B ...B } } fragment B on T { b { c } c: d } fragment X on T { ...X }")
    )
    assert (shape.fields, shape.depth, shape.aliases, shape.top) == (7, 3, 2, 1)
    # Merging ``b`` twice and ``c`` twice: along the worst path one name stands for two fields.
    assert shape.repeated == 2


async def test_same_named_fields_are_bounded_before_their_quadratic_merge_check(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    # 19 x 50 fields merge into 950 ``id`` fields compared pairwise by validation.
    query = "{ me { " + ("... on User { " + "id " * 50 + "} ") * 19 + "} }"
    body = await rejected(gateway, query)
    assert [e["extensions"]["code"] for e in body["errors"]] == [
        "MAX_REPEATED_FIELDS_EXCEEDED",
        "MAX_FIELD_MERGES_EXCEEDED",
    ]
    ok = await gateway.post("/graphql", json={"query": "{ me { " + "id " * 50 + "} }"})
    assert ok.status_code == 200
    assert "errors" not in ok.json()


def test_field_merges_are_estimated_per_selection_set_and_fragment() -> None:
    # ``id`` three times: 3² comparisons; ``me`` once, with that sub-selection: 1 x (1 + 9)
    assert field_merges(parse("{ me { id id id } }")) == 9 + 10
    # A fragment is counted once where it is defined, and through each spread where it is
    # merged: ``id`` twice in ``me`` (2² = 4), ``F`` itself (1), ``me`` (1 + 4).
    assert field_merges(parse("{ me { ...F ...F } } fragment F on User { id }")) == 4 + 1 + 5
    # Linear in the document even when it multiplies: a 300-level fragment bomb is counted at
    # once (the figure is astronomical, and refused).
    assert field_merges(parse(fragment_bomb(300))) > 2**300


async def test_wide_repeated_selections_are_refused_before_their_merge_check(
    gateway: AsyncTestClient[Any], subgraphs: Subgraphs
) -> None:
    # Within every other limit (251 fields, each name 25 times, depth 3, no alias), but
    # validation would compare 25² pairs of ``favoriteProduct`` and each pair's sub-selections.
    product = "favoriteProduct { upc name price weight inStock shippingEstimate }"
    selection = " ".join(["... on User { id name username " + product + " }"] * 25)
    query = "{ me { " + selection + " } }"
    ((_, shape),) = operation_shapes(parse(query))
    assert shape.fields <= 1000
    assert shape.repeated <= 50
    body = await rejected(gateway, query)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["MAX_FIELD_MERGES_EXCEEDED"]
    assert "limit is 10000" in body["errors"][0]["message"]
    assert calls(subgraphs) == 0
    # the same selection five times merges and is answered
    narrow = "{ me { " + " ".join(["... on User { id name username " + product + " }"] * 5) + " } }"
    ok = await gateway.post("/graphql", json={"query": narrow})
    assert ok.status_code == 200, ok.text


async def test_field_suggestions_are_off_with_introspection(
    make_gateway: Callable[..., AsyncTestClient[Any]],
) -> None:
    async with make_gateway(introspection=True) as client:
        body = await rejected(client, "{ me { nam } }")
        assert "Did you mean 'name'" in body["errors"][0]["message"]
    async with make_gateway(introspection=False) as client:
        body = await rejected(client, "{ me { nam } }")
        assert body["errors"][0]["message"] == "Cannot query field 'nam' on type 'User'."


async def test_every_graphql_over_http_spec_case(gateway: AsyncTestClient[Any]) -> None:
    """The gateway's ``/graphql`` follows the same transport rules as every subgraph."""
    from nova_kit.testing.graphql_http import run_cases_on

    await run_cases_on(gateway)
