"""The supergraph model, the API schema derived from it, and hot reload."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, print_schema
from litestar.testing import AsyncTestClient

from nova_gateway.app import settle_heap
from nova_gateway.federation.engine import EngineConfig, FederationEngine
from nova_gateway.federation.supergraph.loader import SupergraphLoader
from nova_gateway.federation.supergraph.model import EntityKey, FieldJoin, SupergraphError
from nova_gateway.federation.supergraph.parse import parse_supergraph
from nova_kit.testing.servers import ThreadedServer

FIXTURE = (Path(__file__).parent / "fixtures" / "supergraph.graphql").read_text()
SUPERGRAPH = parse_supergraph(FIXTURE)


def test_subgraphs_and_their_urls() -> None:
    assert {name: s.url for name, s in SUPERGRAPH.subgraphs.items()} == {
        "accounts": "http://accounts/graphql",
        "inventory": "http://inventory/graphql",
        "products": "http://products/graphql",
        "reviews": "http://reviews/graphql",
    }
    assert SUPERGRAPH.root_types == {"query": "Query", "mutation": "Mutation"}
    assert SUPERGRAPH.sdl_hash == hashlib.sha256(FIXTURE.encode()).hexdigest()


def test_keys_single_compound_multiple_and_unresolvable() -> None:
    assert SUPERGRAPH.type("Product").keys == (
        EntityKey("accounts", "upc", resolvable=False),
        EntityKey("inventory", "sku brand"),
        EntityKey("products", "upc"),
        EntityKey("products", "sku brand"),
        EntityKey("reviews", "upc"),
    )
    assert SUPERGRAPH.resolvable_keys("Product", "accounts") == ()


def test_field_joins() -> None:
    assert SUPERGRAPH.field("Product", "shippingEstimate").joins == (
        FieldJoin("inventory", requires="price weight"),
    )
    assert SUPERGRAPH.field("Review", "author").joins == (
        FieldJoin("reviews", provides="username"),
    )
    assert SUPERGRAPH.resolving_graphs("User", "username") == ("accounts",)
    assert SUPERGRAPH.resolving_graphs("User", "nickname") == ("reviews",)
    assert SUPERGRAPH.resolving_graphs("Mutation", "renameUser") == ("accounts",)
    assert SUPERGRAPH.resolving_graphs("Book", "rating") == ()
    assert SUPERGRAPH.type("Media").interface_object_graphs == frozenset({"reviews"})
    assert SUPERGRAPH.type("Book").implements == {"products": frozenset({"Media"})}
    assert SUPERGRAPH.type("SearchResult").union_members == {
        "products": frozenset({"Product", "User"})
    }
    assert SUPERGRAPH.field("User", "reviews").list_depth == 1


def test_api_schema_has_no_federation_machinery_or_inaccessible_elements() -> None:
    printed = print_schema(SUPERGRAPH.api_schema)
    assert "join__" not in printed
    assert "link" not in printed
    assert "@inaccessible" not in printed
    assert "email" not in printed
    assert "type User {" in printed


def test_inaccessible_type_and_enum_value_are_removed() -> None:
    sdl = FIXTURE.replace(
        'type Review @join__type(graph: REVIEWS, key: "id") {',
        "type Secret @join__type(graph: REVIEWS) @inaccessible { x: Int }\n"
        "enum Mood @join__type(graph: REVIEWS) { HAPPY SAD @inaccessible }\n"
        'type Review @join__type(graph: REVIEWS, key: "id") {\n  mood: Mood',
    )
    schema = parse_supergraph(sdl).api_schema
    assert schema.get_type("Secret") is None
    mood = schema.get_type("Mood")
    assert mood is not None
    assert list(mood.values) == ["HAPPY"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("sdl", "message"),
    [
        ("type Query {", "not valid GraphQL"),
        ("type Query { a: Int }", "not a Federation v2 supergraph"),
        (
            FIXTURE.replace("join/v0.5", "join/v0.2"),
            "join spec v0.2 is not supported",
        ),
    ],
)
def test_invalid_supergraphs_are_rejected_with_the_reason(sdl: str, message: str) -> None:
    with pytest.raises(SupergraphError, match=message):
        parse_supergraph(sdl)


@pytest.mark.parametrize("version", ["v0.3", "v0.4", "v0.5"])
def test_join_versions(version: str) -> None:
    supergraph = parse_supergraph(FIXTURE.replace("join/v0.5", f"join/{version}"))
    assert set(supergraph.subgraphs) == {"accounts", "inventory", "products", "reviews"}


async def test_hot_reload_keeps_the_old_supergraph_when_the_new_one_is_invalid(
    tmp_path: Path,
) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(FIXTURE)
    engine = FederationEngine(EngineConfig())
    installed: list[str | None] = []
    async with httpx.AsyncClient() as http:
        loader = SupergraphLoader(
            str(path), engine, http, on_loaded=lambda: installed.append(engine.supergraph_hash)
        )
        assert await loader.load() is True
        first = engine.supergraph_hash
        assert await loader.load() is False  # unchanged
        path.write_text("type Query {")
        assert await loader.load() is False
        assert engine.supergraph_hash == first
        assert loader.last_error is not None
        assert "not valid GraphQL" in loader.last_error
        changed = FIXTURE + "\n# recomposed\n"
        path.write_text(changed)
        assert await loader.load() is True
        assert engine.supergraph_hash == hashlib.sha256(changed.encode()).hexdigest()
    await engine.close()
    assert installed == [first, engine.supergraph_hash], "called once per new supergraph"


async def test_objects_alive_after_a_load_are_exempt_from_full_collections(
    make_gateway: Callable[..., AsyncTestClient[Any]],
) -> None:
    gc.unfreeze()
    try:
        async with make_gateway(freeze_heap=True) as client:
            assert gc.get_freeze_count() > 1000
            body = (await client.post("/graphql", json={"query": "{ me { name } }"})).json()
            assert body == {"data": {"me": {"name": "Ada Lovelace"}}}
        async with make_gateway(freeze_heap=False):
            pass
    finally:
        gc.unfreeze()


def test_settle_heap_collects_what_the_previous_load_left() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    gc.unfreeze()
    try:
        garbage = weakref.ref(Cycle())
        settle_heap()
        assert garbage() is None
        kept = Cycle()
        settle_heap()
        assert gc.get_freeze_count() > 0
        dropped = weakref.ref(kept)
        del kept
        settle_heap()  # a reload: the frozen cycle is unfrozen and collected
        assert dropped() is None
    finally:
        gc.unfreeze()


def text_server(text: str) -> ThreadedServer:
    """Serves one text document over HTTP on loopback."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": text.encode()})

    return ThreadedServer(app, path="/supergraph.graphql", lifespan="off")


async def test_supergraph_from_a_url() -> None:
    server = text_server(FIXTURE).start()
    engine = FederationEngine(EngineConfig())
    try:
        async with httpx.AsyncClient() as http:
            loader = SupergraphLoader(server.url, engine, http)
            assert await loader.load() is True
        assert engine.supergraph_hash == SUPERGRAPH.sdl_hash
    finally:
        server.stop()
        await engine.close()


async def test_closing_the_engine_closes_the_transports_retired_by_reloads() -> None:
    engine = FederationEngine(EngineConfig())
    engine.install(SUPERGRAPH)
    assert engine.current is not None
    old = engine.current.transport
    old_pool = old.pool("accounts")
    moved = next(iter(SUPERGRAPH.subgraphs.values())).url
    engine.install(parse_supergraph(FIXTURE.replace(moved, "http://moved.internal:4001/graphql")))
    new = engine.current.transport
    assert new is not old
    new_pool = new.pool("accounts")
    closed_at_reload = old_pool.closed
    assert not closed_at_reload  # requests planned before the reload may still use it
    await engine.close()
    assert old_pool.closed
    assert new_pool.closed


async def test_a_retired_transport_is_closed_after_its_grace_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("nova_gateway.federation.engine._OLD_TRANSPORT_GRACE_SECONDS", 0.01)
    engine = FederationEngine(EngineConfig())
    engine.install(SUPERGRAPH)
    assert engine.current is not None
    old_pool = engine.current.transport.pool("accounts")
    moved = next(iter(SUPERGRAPH.subgraphs.values())).url
    engine.install(parse_supergraph(FIXTURE.replace(moved, "http://moved.internal:4001/graphql")))
    try:
        for _ in range(200):
            if old_pool.closed:
                break
            await asyncio.sleep(0.01)
        assert old_pool.closed
    finally:
        await engine.close()


def test_the_api_schema_has_no_federation_machinery_and_no_inaccessible_element() -> None:
    schema = SUPERGRAPH.api_schema
    user = schema.get_type("User")
    assert isinstance(user, GraphQLObjectType)
    assert "email" not in user.fields
    assert "name" in user.fields
    assert not [name for name in schema.type_map if name.startswith(("join__", "link__"))]
    assert not [d.name for d in schema.directives if d.name.startswith(("join__", "link"))]
    assert "inaccessible" not in {d.name for d in schema.directives}
