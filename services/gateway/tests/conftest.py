"""Fixtures of the gateway's conformance suite: four small federation subgraphs served over
loopback HTTP, and the gateway itself in front of them.

The subgraphs (accounts, products, inventory, reviews) are graphql-core schemas built from the
SDL files in ``fixtures/subgraphs`` — the same files the composer turns into
``fixtures/supergraph.graphql``. Each runs under uvicorn in a thread on 127.0.0.1 with a free
port, logs the requests it receives and can be told to misbehave (slow, HTTP 500, malformed
JSON, wrong number of entities).
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    graphql,
    parse,
    print_schema,
    validate,
)
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from nova_gateway.app import create_app
from nova_gateway.config import GatewaySettings
from nova_gateway.federation.execution.executor import execute_plan
from nova_gateway.federation.execution.shape import shape_response
from nova_gateway.federation.execution.transport import SubgraphRequest
from nova_gateway.federation.planning.normalize import find_operation
from nova_gateway.federation.planning.planner import plan_operation
from nova_gateway.federation.supergraph.parse import parse_supergraph
from nova_kit.embedded import free_port
from nova_kit.testing.servers import ThreadedServer

FIXTURES = Path(__file__).parent / "fixtures"
SUBGRAPH_SDL = FIXTURES / "subgraphs"
SUPERGRAPH = FIXTURES / "supergraph.graphql"
SUBGRAPH_NAMES = ("accounts", "products", "inventory", "reviews")

FEDERATION_DEFINITIONS = """
scalar _Any
scalar FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import])
  repeatable on SCHEMA
directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
directive @external on OBJECT | FIELD_DEFINITION
directive @provides(fields: FieldSet!) on FIELD_DEFINITION
directive @requires(fields: FieldSet!) on FIELD_DEFINITION
directive @override(from: String!, label: String) on FIELD_DEFINITION
directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION
  | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @interfaceObject on OBJECT
type _Service { sdl: String }
"""

_ENTITY = re.compile(
    r"type (\w+)[^{]*?@key\(fields: \"[^\"]*\"(?P<unresolvable>, resolvable: false)?"
)

# --- data -------------------------------------------------------------------------------------

USERS: dict[str, dict[str, Any]] = {
    "1": {
        "id": "1",
        "name": "Ada Lovelace",
        "username": "ada",
        "nickname": "acc-ada",
        "email": "ada@example.com",
        "favoriteProduct": {"upc": "2"},
    },
    "2": {
        "id": "2",
        "name": "Alan Turing",
        "username": "alan",
        "nickname": "acc-alan",
        "email": "alan@example.com",
        "favoriteProduct": None,
    },
}
BERLIN = {"code": "W1", "location": {"city": "Berlin", "country": "DE"}}
LYON = {"code": "W2", "location": {"city": "Lyon", "country": "FR"}}
PRODUCTS: dict[str, dict[str, Any]] = {
    "1": {
        "upc": "1",
        "sku": "T1",
        "brand": "acme",
        "name": "Table",
        "price": 899,
        "weight": 100,
        "warehouse": BERLIN,
    },
    "2": {
        "upc": "2",
        "sku": "C2",
        "brand": "acme",
        "name": "Couch",
        "price": 1299,
        "weight": 1000,
        "warehouse": LYON,
    },
    "3": {
        "upc": "3",
        "sku": "C3",
        "brand": "zeta",
        "name": "Chair",
        "price": 54,
        "weight": 50,
        "warehouse": BERLIN,
    },
    "4": {
        "upc": "4",
        "sku": "S4",
        "brand": "nova",
        "name": "Stool",
        "price": 25,
        "weight": 20,
        "warehouse": None,
    },
}
CAPACITY = {("W1", "Berlin"): 120, ("W2", "Lyon"): 40}
STOCK = {("T1", "acme"): True, ("C2", "acme"): False, ("C3", "zeta"): True}
REVIEWS = [
    {"id": "r1", "body": "Love it", "author": "1", "product": "1"},
    {"id": "r2", "body": "Too expensive", "author": "2", "product": "2"},
    {"id": "r3", "body": "Could be better", "author": "1", "product": "3"},
    {"id": "r4", "body": "Sturdy", "author": "2", "product": "1"},
]
NICKNAMES = {"1": "Ada L.", "2": "Alan T."}
MEDIA = [
    {"__typename": "Book", "id": "b1", "title": "Dune", "author": "Herbert"},
    {"__typename": "Movie", "id": "m1", "title": "Alien", "director": "Scott"},
]
RATINGS = {"b1": 5, "m1": 4}
IN_THEATERS = {"m1"}
GRID = [["1", "2"], ["3"], []]


def _review(review: dict[str, str]) -> dict[str, Any]:
    """A review as the reviews subgraph sees it (its own User and Product fields, lazily)."""
    author = USERS[review["author"]]
    return {
        "__typename": "Review",
        "id": review["id"],
        "body": review["body"],
        "author": {**_reviews_user(author["id"]), "username": author["username"]},
        "product": _reviews_product(review["product"]),
    }


def _reviews_user(uid: str) -> dict[str, Any]:
    return {
        "__typename": "User",
        "id": uid,
        "nickname": NICKNAMES.get(uid),
        "reviews": lambda *_: [_review(r) for r in REVIEWS if r["author"] == uid],
    }


def _reviews_product(upc: str) -> dict[str, Any]:
    return {
        "__typename": "Product",
        "upc": upc,
        "name": PRODUCTS[upc]["name"],
        "reviews": lambda *_: [_review(r) for r in REVIEWS if r["product"] == upc],
    }


# --- subgraph resolvers -----------------------------------------------------------------------


@dataclass
class SubgraphState:
    users: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(USERS))
    mutations: list[str] = field(default_factory=list)


Resolver = Callable[..., Any]


def _accounts(state: SubgraphState) -> tuple[dict[str, Resolver], dict[str, Resolver]]:
    def user(rep: dict[str, Any]) -> Any:
        found = state.users.get(str(rep.get("id")))
        return None if found is None else {"__typename": "User", **found}

    def rename(_: Any, __: GraphQLResolveInfo[Any], id: str, name: str) -> Any:
        state.mutations.append(f"renameUser:{id}:{name}")
        if id not in state.users:
            return None
        state.users[id]["name"] = name
        return state.users[id]

    def failing(*_: Any) -> Any:
        state.mutations.append("failingMutation")
        raise RuntimeError("the mutation failed")

    roots: dict[str, Resolver] = {
        "Query.me": lambda *_: state.users["1"],
        "Query.user": lambda _, __, id: state.users.get(id),
        "Query.users": lambda *_: list(state.users.values()),
        "Mutation.renameUser": rename,
        "Mutation.failingMutation": failing,
    }
    return roots, {"User": user}


def _products(_: SubgraphState) -> tuple[dict[str, Resolver], dict[str, Resolver]]:
    def product(rep: dict[str, Any]) -> Any:
        if "upc" in rep:
            found = PRODUCTS.get(rep["upc"])
        else:
            found = next(
                (
                    p
                    for p in PRODUCTS.values()
                    if (p["sku"], p["brand"]) == (rep.get("sku"), rep.get("brand"))
                ),
                None,
            )
        return None if found is None else {"__typename": "Product", **found}

    def search(_: Any, __: GraphQLResolveInfo[Any], text: str) -> list[Any]:
        needle = text.lower()
        found: list[Any] = [
            {"__typename": "Product", **p} for p in PRODUCTS.values() if needle in p["name"].lower()
        ]
        found += [
            {"__typename": "User", "id": user["id"]}
            for user in USERS.values()
            if needle in user["username"]
        ]
        return found

    def media(rep: dict[str, Any]) -> Any:
        return next((m for m in MEDIA if m["id"] == rep.get("id")), None)

    roots: dict[str, Resolver] = {
        "Query.topProducts": lambda _, __, first=5: list(PRODUCTS.values())[:first],
        "Query.product": lambda _, __, upc: PRODUCTS.get(upc),
        "Query.search": search,
        "Query.media": lambda *_: MEDIA,
        "Query.productGrid": lambda *_: [[PRODUCTS[u] for u in row] for row in GRID],
    }
    return roots, {"Product": product, "Book": media, "Movie": media}


def _inventory(_: SubgraphState) -> tuple[dict[str, Resolver], dict[str, Resolver]]:
    def product(rep: dict[str, Any]) -> Any:
        key = (rep.get("sku"), rep.get("brand"))
        if key not in STOCK:
            return None
        entity: dict[str, Any] = {
            "__typename": "Product",
            "sku": key[0],
            "brand": key[1],
            "inStock": STOCK[key],
        }
        if "price" in rep and "weight" in rep:
            entity["shippingEstimate"] = 0 if rep["price"] > 1000 else rep["weight"] // 2
        return entity

    def warehouse(rep: dict[str, Any]) -> Any:
        key = (rep["code"], rep["location"]["city"])
        return {
            "__typename": "Warehouse",
            "code": key[0],
            "location": {"city": key[1]},
            "capacity": CAPACITY[key],
        }

    def movie(rep: dict[str, Any]) -> Any:
        return {"__typename": "Movie", "id": rep["id"], "inTheaters": rep["id"] in IN_THEATERS}

    return {}, {"Product": product, "Movie": movie, "Warehouse": warehouse}


def _reviews(_: SubgraphState) -> tuple[dict[str, Resolver], dict[str, Resolver]]:
    def user(rep: dict[str, Any]) -> Any:
        return _reviews_user(str(rep.get("id")))

    def product(rep: dict[str, Any]) -> Any:
        upc = rep.get("upc")
        return _reviews_product(upc) if upc in PRODUCTS else None

    def media(rep: dict[str, Any]) -> Any:
        return {"__typename": "Media", "id": rep["id"], "rating": RATINGS.get(rep["id"])}

    roots = {"Query.reviews": lambda *_: [_review(r) for r in REVIEWS]}
    return roots, {"User": user, "Product": product, "Media": media}


RESOLVERS = {
    "accounts": _accounts,
    "products": _products,
    "inventory": _inventory,
    "reviews": _reviews,
}


def build_subgraph_schema(
    sdl: str,
    roots: dict[str, Resolver],
    references: dict[str, Resolver],
    failing_keys: set[str],
) -> GraphQLSchema:
    entities = [m.group(1) for m in _ENTITY.finditer(sdl) if not m.group("unresolvable")]
    entities = [name for name in entities if f"interface {name} " not in sdl]
    service_fields = "_entities(representations: [_Any!]!): [_Entity]!\n  _service: _Service!"
    extra = f"union _Entity = {' | '.join(entities)}\n"
    if "type Query" in sdl:
        extra += f"extend type Query {{\n  {service_fields}\n}}\n"
    else:
        extra += f"type Query {{\n  {service_fields}\n}}\n"
    schema = build_schema(FEDERATION_DEFINITIONS + sdl + extra)
    for path, resolver in roots.items():
        type_name, field_name = path.split(".")
        root = schema.get_type(type_name)
        assert isinstance(root, GraphQLObjectType)
        root.fields[field_name].resolve = resolver
    query = schema.query_type
    assert query is not None

    def resolve_entities(_: Any, __: GraphQLResolveInfo[Any], representations: list[Any]) -> Any:
        return [
            RuntimeError(f"cannot load {rep['__typename']} {key}")
            if (key := rep.get("id") or rep.get("upc")) in failing_keys
            else references[rep["__typename"]](rep)
            for rep in representations
        ]

    query.fields["_entities"].resolve = resolve_entities
    query.fields["_service"].resolve = lambda *_: {"sdl": sdl}
    for named in schema.type_map.values():
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            named.resolve_type = lambda value, *_: value.get("__typename")
    return schema


class InProcessSubgraphs:
    """The fetcher the executor calls, for the fixtures planned, executed and shaped in process
    (``fixtures/shapes``, ``fixtures/audit/<shape>``): each subgraph of ``directory`` is a
    graphql-core schema of its ``<name>.graphql`` with the given (roots, references) resolvers;
    every request is kept for the assertions."""

    def __init__(
        self,
        directory: Path,
        resolvers: Mapping[str, tuple[dict[str, Any], dict[str, Any]]],
        *,
        tamper: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        """``tamper(service, response)`` may alter a response (a subgraph misbehaving)."""
        self.tamper = tamper
        self.supergraph = parse_supergraph((directory / "supergraph.graphql").read_text())
        self.schemas = {
            name: build_subgraph_schema(
                (directory / f"{name}.graphql").read_text(), roots, references, set()
            )
            for name, (roots, references) in resolvers.items()
        }
        self.requests: list[tuple[str, SubgraphRequest]] = []
        self.rejected: list[str] = []
        """Subgraph queries that failed as a whole (invalid there): never to be sent."""

    async def fetch(
        self, service: str, request: SubgraphRequest, headers: Mapping[str, str]
    ) -> dict[str, Any]:
        self.requests.append((service, request))
        result = await graphql(
            self.schemas[service], request.query, variable_values=dict(request.variables)
        )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [error.formatted for error in result.errors]
            if result.data is None:
                self.rejected.append(request.query)
        if self.tamper is not None:
            self.tamper(service, response)
        return response

    def services(self) -> list[str]:
        return [service for service, _ in self.requests]

    def sent(self, service: str) -> list[SubgraphRequest]:
        return [request for name, request in self.requests if name == service]

    async def answer(self, query: str) -> dict[str, Any]:
        """The client response to ``query``, with the missing-field invariant checked."""
        document = parse(query)
        assert not validate(self.supergraph.api_schema, document)
        plan = plan_operation(self.supergraph, document)
        result = await execute_plan(plan, self)
        return shape_response(
            self.supergraph.api_schema,
            operation=find_operation(document, None),
            fragments={},
            variables=None,
            data=result.data,
            errors=result.errors,
            check_invariants=True,
        )


# --- serving ----------------------------------------------------------------------------------


@dataclass
class Fault:
    mode: str | None = None
    """None, "slow", "http500", "malformed" or "wrong_count"."""
    delay_seconds: float = 0.0


@dataclass
class RecordedRequest:
    query: str
    variables: dict[str, Any]
    headers: dict[str, str]


class SubgraphApp:
    """A GraphQL-over-HTTP ASGI app for one fixture subgraph."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sdl = (SUBGRAPH_SDL / f"{name}.graphql").read_text()
        self.url = ""
        self.fault = Fault()
        self.requests: list[RecordedRequest] = []
        self.reset()

    def reset(self) -> None:
        self.state = SubgraphState()
        roots, references = RESOLVERS[self.name](self.state)
        self.failing_keys: set[str] = set()
        self.schema = build_subgraph_schema(self.sdl, roots, references, self.failing_keys)
        self.fault = Fault()
        self.requests = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        payload = json.loads(body or b"{}")
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(
            RecordedRequest(payload.get("query", ""), payload.get("variables") or {}, headers)
        )
        fault = self.fault
        if fault.mode == "slow":
            await asyncio.sleep(fault.delay_seconds)
        if fault.mode == "http500":
            await _respond(send, 500, b"Internal Server Error", "text/plain")
            return
        if fault.mode == "malformed":
            await _respond(send, 200, b'{"data": {"broken', "application/json")
            return
        result = await graphql(
            self.schema, payload.get("query", ""), variable_values=payload.get("variables")
        )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [e.formatted for e in result.errors]
        if fault.mode == "wrong_count" and isinstance(result.data, dict):
            entities = result.data.get("_entities")
            if isinstance(entities, list):
                response["data"] = {"_entities": entities[:-1]}
        await _respond(send, 200, json.dumps(response).encode(), "application/json")


async def _respond(send: Any, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SubgraphServer(ThreadedServer):
    """A fixture subgraph served at ``/graphql`` on loopback (``port`` 0: a free one)."""

    def __init__(self, app: SubgraphApp, port: int = 0) -> None:
        super().__init__(
            app,
            port=port,
            path="/graphql",
            lifespan="off",
            name=f"subgraph {app.name}",
            timeout_keep_alive=30,
        )
        self.app = app


@pytest.fixture(scope="session")
def subgraphs() -> Iterator[dict[str, SubgraphApp]]:
    servers = {name: SubgraphServer(SubgraphApp(name)) for name in SUBGRAPH_NAMES}
    for server in servers.values():
        server.start()
    for server in servers.values():
        server.app.url = server.url
    try:
        yield {name: server.app for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def start_subgraph() -> Iterator[Callable[[str, int], SubgraphServer]]:
    """Start an extra fixture subgraph (``name``, ``port``; 0 for a free one); stopped after the
    test if still running."""
    started: list[SubgraphServer] = []

    def start(name: str, port: int = 0) -> SubgraphServer:
        server = SubgraphServer(SubgraphApp(name), port)
        server.app.url = server.url
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        if server.thread.is_alive():
            server.stop()


@pytest.fixture(autouse=True)
def _reset_subgraphs(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "subgraphs" in request.fixturenames:
        for app in request.getfixturevalue("subgraphs").values():
            app.reset()


@pytest.fixture
def subgraph_schema() -> Callable[..., GraphQLSchema]:
    """:func:`build_subgraph_schema`, for a test that serves its own SDL in process."""
    return build_subgraph_schema


@pytest.fixture
def in_process_subgraphs() -> type[InProcessSubgraphs]:
    """:class:`InProcessSubgraphs`, for the tests that plan and execute in process."""
    return InProcessSubgraphs


def closed_port_url() -> str:
    """A loopback URL nothing listens on (a subgraph that was killed)."""
    return f"http://127.0.0.1:{free_port()}/graphql"


def gateway_settings(subgraphs: dict[str, SubgraphApp], **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "supergraph": str(SUPERGRAPH),
        "supergraph_poll_seconds": 0,
        "subgraph_urls": {name: app.url for name, app in subgraphs.items()},
        "subgraph_timeout_seconds": 2.0,
        "jwks_url": None,
        "log_json": False,
        "freeze_heap": False,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@pytest.fixture
async def gateway(subgraphs: dict[str, SubgraphApp]) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(gateway_settings(subgraphs))) as client:
        yield client


@pytest.fixture
def make_gateway(
    subgraphs: dict[str, SubgraphApp],
) -> Callable[..., AsyncTestClient[Any]]:
    """A gateway with settings overrides; use it as ``async with make_gateway(...) as client``."""

    def build(**overrides: Any) -> AsyncTestClient[Any]:
        return AsyncTestClient(app=create_app(gateway_settings(subgraphs, **overrides)))

    return build


# --- random operations (property tests) -------------------------------------------------------

API_SCHEMA = parse_supergraph(SUPERGRAPH.read_text()).api_schema

ARGUMENTS = {
    ("Query", "product"): '(upc: "1")',
    ("Query", "user"): '(id: "1")',
    ("Query", "topProducts"): "(first: 2)",
    ("Query", "search"): '(text: "a")',
}


def _named(output: GraphQLOutputType) -> GraphQLOutputType:
    while isinstance(output, GraphQLNonNull | GraphQLList):
        output = output.of_type
    return output


CONDITIONS = ("",) * 8 + (
    " @include(if: true)",
    " @include(if: false)",
    " @skip(if: true)",
    " @skip(if: false)",
    " @include(if: $yes)",
    " @skip(if: $no)",
    " @include(if: $no)",
)
OPERATION_VARIABLES = {"yes": True, "no": False}
"""Values of the variables generated operations may use."""


@st.composite
def selections(
    draw: st.DrawFn, type_: GraphQLObjectType | GraphQLInterfaceType, depth: int, prefix: str = ""
) -> str:
    """A random selection on ``type_``: fields (with required arguments), nested objects and,
    on interfaces and unions, inline fragments whose fields carry type-specific aliases."""
    names = sorted(type_.fields)
    usable = []
    for name in names:
        field = type_.fields[name]
        target = _named(field.type)
        if any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()) and (
            (type_.name, name) not in ARGUMENTS
        ):
            continue
        if isinstance(target, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            if depth > 0:
                usable.append(name)
        else:
            usable.append(name)
    chosen = draw(st.lists(st.sampled_from(usable), min_size=1, max_size=4, unique=True))
    response_keys = set(chosen)
    parts = []
    for name in chosen:
        target = _named(type_.fields[name].type)
        alias = f"{prefix}{name}" if prefix else ""
        if not prefix and draw(st.integers(0, 4)) == 0:
            # alias the field with the name of another field: key fields may clash with it
            candidate = draw(st.sampled_from(names))
            if candidate not in response_keys:
                alias = candidate
                response_keys.discard(name)
                response_keys.add(candidate)
        text = (f"{alias}: " if alias else "") + name + ARGUMENTS.get((type_.name, name), "")
        text += draw(st.sampled_from(CONDITIONS))
        if isinstance(target, GraphQLObjectType):
            text += " { " + draw(selections(target, depth - 1)) + " }"
        elif isinstance(target, GraphQLInterfaceType | GraphQLUnionType):
            text += " { " + draw(abstract_selections(target, depth - 1)) + " }"
        if draw(st.integers(0, 5)) == 0:
            condition = draw(st.sampled_from(["true", "false", "$yes", "$no"]))
            text = f"... @include(if: {condition}) {{ {text} }}"
        parts.append(text)
    return " ".join(parts)


@st.composite
def abstract_selections(
    draw: st.DrawFn, type_: GraphQLInterfaceType | GraphQLUnionType, depth: int
) -> str:
    schema = API_SCHEMA
    parts = ["__typename"]
    if isinstance(type_, GraphQLInterfaceType) and draw(st.booleans()):
        parts.append(draw(selections(type_, depth)))
    possible = [t.name for t in schema.get_possible_types(type_)]
    for name in draw(st.lists(st.sampled_from(possible), max_size=len(possible), unique=True)):
        concrete = schema.get_type(name)
        assert isinstance(concrete, GraphQLObjectType)
        inner = draw(selections(concrete, depth, prefix=f"{name.lower()}_"))
        parts.append(f"... on {name} {{ {inner} }}")
    return " ".join(parts)


def random_operations() -> st.SearchStrategy[str]:
    """Valid queries over the fixture supergraph's API schema, up to three levels deep."""
    query = API_SCHEMA.query_type
    assert query is not None
    return selections(query, 3).map(_with_variable_definitions)


def _with_variable_definitions(selection: str) -> str:
    used = [name for name in OPERATION_VARIABLES if f"${name}" in selection]
    header = "query(" + ", ".join(f"${name}: Boolean!" for name in used) + ") " if used else ""
    return header + "{ " + selection + " }"


@pytest.fixture(scope="session")
def operations() -> st.SearchStrategy[str]:
    return random_operations()


# --- the same graph as one schema (reference for differential tests) ----------------------------


def _monolith_user(uid: str) -> dict[str, Any]:
    user = USERS[uid]
    favorite = user["favoriteProduct"]
    return {
        "__typename": "User",
        "id": uid,
        "name": user["name"],
        "username": user["username"],
        "nickname": NICKNAMES.get(uid),
        "favoriteProduct": lambda _: _monolith_product(favorite["upc"]) if favorite else None,
        "reviews": lambda _: [_monolith_review(r) for r in REVIEWS if r["author"] == uid],
    }


def _monolith_product(upc: str) -> dict[str, Any]:
    product = PRODUCTS[upc]
    stock = STOCK.get((product["sku"], product["brand"]))
    estimate = 0 if product["price"] > 1000 else product["weight"] // 2
    warehouse = product["warehouse"]
    return {
        "__typename": "Product",
        **product,
        "warehouse": None
        if warehouse is None
        else {
            **warehouse,
            "capacity": CAPACITY[(warehouse["code"], warehouse["location"]["city"])],
        },
        "inStock": stock,
        "shippingEstimate": None if stock is None else estimate,
        "reviews": lambda _: [_monolith_review(r) for r in REVIEWS if r["product"] == upc],
    }


def _monolith_review(review: dict[str, str]) -> dict[str, Any]:
    return {
        "__typename": "Review",
        "id": review["id"],
        "body": review["body"],
        "author": lambda _: _monolith_user(review["author"]),
        "product": lambda _: _monolith_product(review["product"]),
    }


def _monolith_media(media: dict[str, Any]) -> dict[str, Any]:
    extra = {"inTheaters": media["id"] in IN_THEATERS} if media["__typename"] == "Movie" else {}
    return {**media, "rating": RATINGS.get(media["id"]), **extra}


def _monolith_search(text: str) -> list[dict[str, Any]]:
    needle = text.lower()
    found = [_monolith_product(u) for u, p in PRODUCTS.items() if needle in p["name"].lower()]
    return found + [_monolith_user(u) for u, user in USERS.items() if needle in user["username"]]


MONOLITH_ROOT: dict[str, Any] = {
    "me": lambda _: _monolith_user("1"),
    "user": lambda _, id: _monolith_user(id) if id in USERS else None,
    "users": lambda _: [_monolith_user(u) for u in USERS],
    "topProducts": lambda _, first=5: [_monolith_product(u) for u in list(PRODUCTS)[:first]],
    "product": lambda _, upc: _monolith_product(upc) if upc in PRODUCTS else None,
    "search": lambda _, text: _monolith_search(text),
    "media": lambda _: [_monolith_media(m) for m in MEDIA],
    "reviews": lambda _: [_monolith_review(r) for r in REVIEWS],
    "productGrid": lambda _: [[_monolith_product(u) for u in row] for row in GRID],
}
"""Root value that answers the API schema from the fixture data directly, without federation."""


def subgraph_calls(subgraphs: dict[str, SubgraphApp]) -> int:
    return sum(len(app.requests) for app in subgraphs.values())


@pytest.fixture(scope="session")
def operation_variables() -> dict[str, Any]:
    return dict(OPERATION_VARIABLES)


@pytest.fixture(scope="session")
def monolith() -> tuple[GraphQLSchema, dict[str, Any]]:
    """The API schema as one executable schema over the fixture data, and its root value."""
    return build_schema(print_schema(API_SCHEMA)), MONOLITH_ROOT
