"""Federation shapes of the public gateway audit, rebuilt with subgraphs of our own
(``fixtures/audit/<shape>/``), each planned, executed and shaped over in-process subgraphs:

- ``unreachable-interface-object``: a field only an ``@interfaceObject`` with a
  ``resolvable: false`` key offers — the operation is refused, the field is never dropped;
- ``two-hop-parent``: a key of a value type only reachable by re-entering the parent entity in
  another subgraph (``Product.category.id``), then used to enter a third one;
- ``partial-union-shared``: a ``@shareable`` wrapper whose union has different members in each
  subgraph that resolves it;
- ``requires-argument-conflict``: two ``@requires`` of one field with different arguments;
- ``requires-fragments``: a ``@requires`` field set with type conditions on an interface field
  (one implementation ``@inaccessible``);
- ``interface-distributed``: an interface one implementation implements only in another
  subgraph (``join__implements``);
- ``union-narrowed``: a field whose type is narrower in one subgraph (``join__field(type:)``).

The supergraphs are composed by ``deploy/compose`` (test_gateway_shapes.py checks them against
a fresh composition) except two written by hand in the shape the
reference composer produces: ``union-narrowed`` (``Query.book`` carries ``join__field(type:)``
for both subgraphs) and ``unreachable-interface-object`` (the pinned composer refuses it).
Expected values come from the data below and the federation semantics, not from the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    graphql,
    is_leaf_type,
    parse,
    print_schema,
    validate,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nova_gateway.federation.engine import EngineConfig, FederationEngine, GraphQLRequest
from nova_gateway.federation.errors import PlanningError
from nova_gateway.federation.execution.shape import SilentDataLossError, shape_response
from nova_gateway.federation.planning.normalize import find_operation
from nova_gateway.federation.planning.planner import plan_operation
from nova_gateway.federation.supergraph.model import Supergraph
from nova_gateway.federation.supergraph.parse import parse_supergraph

if TYPE_CHECKING:
    from services.gateway.tests.conftest import InProcessSubgraphs

AUDIT = Path(__file__).parent / "fixtures" / "audit"

Resolvers = tuple[dict[str, Any], dict[str, Any]]


def _subgraphs(
    build: type[InProcessSubgraphs], shape: str, resolvers: Mapping[str, Resolvers]
) -> InProcessSubgraphs:
    return build(AUDIT / shape, resolvers)


# --- unreachable-interface-object ------------------------------------------------------------


@pytest.fixture
def assets(in_process_subgraphs: type[InProcessSubgraphs]) -> InProcessSubgraphs:
    photo = {"__typename": "Photo", "id": "p1", "width": 640}
    roots = {"Query.asset": lambda *_: photo}
    references = {"Photo": lambda rep: photo, "Asset": lambda rep: photo}
    return _subgraphs(
        in_process_subgraphs, "unreachable-interface-object", {"assets": (roots, references)}
    )


async def test_field_only_behind_an_unresolvable_interface_object_key_is_refused(
    assets: InProcessSubgraphs,
) -> None:
    with pytest.raises(PlanningError, match=r"resolves Photo\.caption"):
        plan_operation(assets.supergraph, parse("{ asset { caption } }"))
    with pytest.raises(PlanningError, match=r"resolves Photo\.caption"):
        plan_operation(assets.supergraph, parse("{ asset { id ... on Photo { caption } } }"))
    assert assets.requests == []
    body = await assets.answer("{ asset { id ... on Photo { width } } }")
    assert body == {"data": {"asset": {"id": "p1", "width": 640}}}


async def test_refused_operation_answers_null_data_with_the_reason(
    assets: InProcessSubgraphs,
) -> None:
    engine = FederationEngine(EngineConfig(check_invariants=True))
    engine.install(assets.supergraph)
    try:
        response = await engine.execute(GraphQLRequest("{ asset { id caption } }"))
    finally:
        await engine.close()
    assert response.status == 200
    assert response.body["data"] is None
    [error] = response.body["errors"]
    assert error["extensions"] == {"code": "QUERY_PLANNING_FAILED"}
    assert "Photo.caption" in error["message"]


# --- two-hop-parent ----------------------------------------------------------------------------


@pytest.fixture
def catalog(in_process_subgraphs: type[InProcessSubgraphs]) -> InProcessSubgraphs:
    def product(rep: dict[str, Any]) -> Any:
        return {"__typename": "Product", "id": rep["id"], "name": f"Product#{rep['id']}"}

    resolvers = {
        "listing": ({"Query.listing": lambda _, __, id: product({"id": id})}, {"Product": product}),
        "catalog": (
            {},
            {
                "Product": lambda rep: {
                    "__typename": "Product",
                    "id": rep["id"],
                    "category": {"id": f"c{rep['id']}"},
                }
            },
        ),
        "taxonomy": (
            {},
            {
                "Category": lambda rep: {
                    "__typename": "Category",
                    "id": rep["id"],
                    "name": f"Category#{rep['id']}",
                }
            },
        ),
        "about": (
            {},
            {
                "Product": lambda rep: {
                    "__typename": "Product",
                    "id": rep["id"],
                    "category": {"details": f"Details for Product#{rep['id']}"},
                }
            },
        ),
    }
    return _subgraphs(in_process_subgraphs, "two-hop-parent", resolvers)


async def test_key_of_a_value_type_comes_from_re_entering_the_parent_entity(
    catalog: InProcessSubgraphs,
) -> None:
    body = await catalog.answer('{ listing(id: "1") { id name category { id name details } } }')
    assert body == {
        "data": {
            "listing": {
                "id": "1",
                "name": "Product#1",
                "category": {"id": "c1", "name": "Category#c1", "details": "Details for Product#1"},
            }
        }
    }
    # the category's id comes from the catalog (Product re-entered), its name from the
    # taxonomy (entered with that id), its details from the about subgraph
    taxonomy = catalog.sent("taxonomy")
    assert [r.variables["representations"] for r in taxonomy] == [
        [{"__typename": "Category", "id": "c1"}]
    ]
    assert sorted(name for name, _ in catalog.requests) == [
        "about",
        "catalog",
        "listing",
        "taxonomy",
    ]


async def test_value_type_fields_alone_need_no_second_hop(catalog: InProcessSubgraphs) -> None:
    body = await catalog.answer('{ listing(id: "2") { category { details } } }')
    assert body == {"data": {"listing": {"category": {"details": "Details for Product#2"}}}}
    assert [name for name, _ in catalog.requests] == ["listing", "about"]


# --- partial-union-shared ----------------------------------------------------------------------

COMMON = {"__typename": "Common", "label": "common label"}
EAST_ONLY = {"__typename": "EastOnly", "east": "only east"}
WEST_ONLY = {"__typename": "WestOnly", "west": "only west"}


@pytest.fixture
def shelves(in_process_subgraphs: type[InProcessSubgraphs]) -> InProcessSubgraphs:
    def side(own: dict[str, Any], tray: str | None = None) -> Resolvers:
        items = [COMMON, own]
        roots: dict[str, Any] = {
            f"Query.from{own['__typename'].removesuffix('Only')}": lambda *_: {
                "id": "s1",
                "items": items,
            },
            "Query.shelf": lambda *_: {"id": "s1", "items": [COMMON]},
            "Shelf.tray": lambda shelf, _: {"items": shelf.get("items", items)},
        }
        if tray:
            roots[f"Shelf.{tray}"] = lambda *_: {"items": items}
        return roots, {"Shelf": lambda rep: {"__typename": "Shelf", "id": rep["id"]}}

    resolvers = {"east": side(EAST_ONLY), "west": side(WEST_ONLY, "westTray")}
    return _subgraphs(in_process_subgraphs, "partial-union-shared", resolvers)


ALL_ITEMS = (
    "items { __typename ... on Common { label } ... on EastOnly { east } ... on WestOnly { west } }"
)


@pytest.mark.parametrize(
    ("root", "tray", "expected"),
    [
        ("fromEast", "tray", [COMMON, EAST_ONLY]),
        ("fromWest", "tray", [COMMON, WEST_ONLY]),
        ("shelf", "tray", [COMMON]),
        ("fromEast", "westTray", [COMMON, WEST_ONLY]),
    ],
)
async def test_union_members_of_a_shared_wrapper_come_from_the_subgraph_that_returned_them(
    shelves: InProcessSubgraphs, root: str, tray: str, expected: list[dict[str, Any]]
) -> None:
    body = await shelves.answer(f"{{ {root} {{ {tray} {{ {ALL_ITEMS} }} }} }}")
    assert body == {"data": {root: {tray: {"items": expected}}}}


async def test_member_unknown_to_the_returning_subgraph_selects_nothing(
    shelves: InProcessSubgraphs,
) -> None:
    body = await shelves.answer(
        "{ fromEast { tray { items { __typename ... on WestOnly { west } } } } }"
    )
    assert body == {
        "data": {
            "fromEast": {"tray": {"items": [{"__typename": "Common"}, {"__typename": "EastOnly"}]}}
        }
    }
    assert [name for name, _ in shelves.requests] == ["east"]


# --- requires-argument-conflict ------------------------------------------------------------------

PRODUCTS = {
    "p1": {"name": "Kettle", "price": 10, "weight": 1, "average": 11},
    "p2": {"name": "Stove", "price": 20, "weight": 2, "average": 12},
}
RATES = {"USD": 1, "EUR": 2}


@pytest.fixture
def pricing(in_process_subgraphs: type[InProcessSubgraphs]) -> InProcessSubgraphs:
    def product(upc: str) -> dict[str, Any]:
        found = PRODUCTS[upc]
        return {
            "__typename": "Product",
            "upc": upc,
            "name": found["name"],
            "price": found["price"],
            "weight": found["weight"],
            "category": {"averagePrice": found["average"]},
        }

    pricing_roots = {
        "Query.products": lambda *_: [product(upc) for upc in PRODUCTS],
        "Product.price": lambda p, _, currency: p["price"] * RATES[currency],
        "Category.averagePrice": lambda c, _, currency: c["averagePrice"] * RATES[currency],
    }

    def shipping(rep: dict[str, Any]) -> Any:
        estimate = None
        if "price" in rep and "weight" in rep:
            estimate = rep["price"] * rep["weight"] * 10
        premium = None
        if "category" in rep:
            premium = rep["category"]["averagePrice"] > 11
        return {
            "__typename": "Product",
            "upc": rep["upc"],
            "estimate": estimate,
            "estimateEUR": estimate,
            "premium": premium,
        }

    resolvers = {
        "pricing": (pricing_roots, {"Product": lambda rep: product(rep["upc"])}),
        "shipping": ({}, {"Product": shipping}),
    }
    return _subgraphs(in_process_subgraphs, "requires-argument-conflict", resolvers)


async def test_requires_of_one_field_with_different_arguments_use_their_own_values(
    pricing: InProcessSubgraphs,
) -> None:
    body = await pricing.answer("{ products { upc name estimate estimateEUR premium } }")
    assert body == {
        "data": {
            "products": [
                {
                    "upc": "p1",
                    "name": "Kettle",
                    "estimate": 100,
                    "estimateEUR": 200,
                    "premium": False,
                },
                {
                    "upc": "p2",
                    "name": "Stove",
                    "estimate": 400,
                    "estimateEUR": 800,
                    "premium": True,
                },
            ]
        }
    }
    # one fetch per price the estimates need; the category's requirement joins the first
    representations = [r.variables["representations"] for r in pricing.sent("shipping")]
    assert representations == [
        [
            {
                "__typename": "Product",
                "upc": "p1",
                "price": 10,
                "weight": 1,
                "category": {"averagePrice": 11},
            },
            {
                "__typename": "Product",
                "upc": "p2",
                "price": 20,
                "weight": 2,
                "category": {"averagePrice": 12},
            },
        ],
        [
            {"__typename": "Product", "upc": "p1", "price": 20, "weight": 1},
            {"__typename": "Product", "upc": "p2", "price": 40, "weight": 2},
        ],
    ]


async def test_required_field_with_arguments_next_to_the_clients_own(
    pricing: InProcessSubgraphs,
) -> None:
    body = await pricing.answer('{ products { estimateEUR price(currency: "USD") } }')
    assert body == {
        "data": {"products": [{"estimateEUR": 200, "price": 10}, {"estimateEUR": 800, "price": 20}]}
    }


# --- requires-fragments --------------------------------------------------------------------------

USERS = {
    "u1": {"__typename": "Baz", "foo": "f1", "baz": "z1"},
    "u2": {"__typename": "Qux", "foo": "f2", "qux": "q2"},
    "u3": {"__typename": "Sealed", "foo": "f3"},
}
EXPECTED_DATA = {
    "Baz": {"__typename": "Baz", "foo": "f1", "baz": "z1"},
    "Qux": {"__typename": "Qux", "foo": "f2", "qux": "q2"},
    "Sealed": {"__typename": "Sealed", "foo": "f3"},
}


@pytest.fixture
def profiles(in_process_subgraphs: type[InProcessSubgraphs]) -> InProcessSubgraphs:
    def user(uid: str) -> dict[str, Any]:
        return {"__typename": "User", "id": uid, "data": USERS[uid]}

    def badge(rep: dict[str, Any]) -> Any:
        data = rep["data"]
        # the representation follows the field set's type conditions exactly
        if data != EXPECTED_DATA[data["__typename"]]:
            raise ValueError(f"representation does not match the field set: {data}")
        values = [v for k, v in data.items() if k != "__typename"]
        return {"__typename": "User", "id": rep["id"], "summary": "/".join(values)}

    resolvers = {
        "profiles": (
            {"Query.users": lambda *_: [user(uid) for uid in USERS]},
            {"User": lambda rep: user(rep["id"])},
        ),
        "badges": ({}, {"User": badge}),
    }
    return _subgraphs(in_process_subgraphs, "requires-fragments", resolvers)


async def test_required_field_set_with_type_conditions_follows_each_objects_type(
    profiles: InProcessSubgraphs,
) -> None:
    body = await profiles.answer("{ users { id summary } }")
    assert body == {
        "data": {
            "users": [
                {"id": "u1", "summary": "f1/z1"},
                {"id": "u2", "summary": "f2/q2"},
                {"id": "u3", "summary": "f3"},
            ]
        }
    }
    [request] = profiles.sent("badges")
    assert [rep["data"] for rep in request.variables["representations"]] == list(
        EXPECTED_DATA.values()
    )


async def test_required_fields_next_to_the_clients_fragments(profiles: InProcessSubgraphs) -> None:
    body = await profiles.answer(
        "{ users { summary data { foo ... on Qux { qux } ... on Baz { foo } } } }"
    )
    assert body == {
        "data": {
            "users": [
                {"summary": "f1/z1", "data": {"foo": "f1"}},
                {"summary": "f2/q2", "data": {"foo": "f2", "qux": "q2"}},
                {"summary": "f3", "data": None},
            ]
        },
        # the client cannot be told the type of an @inaccessible implementation
        "errors": [
            {
                "message": "Invalid value from a subgraph: the object's type could not be "
                "determined.",
                "path": ["users", 2, "data"],
            }
        ],
    }


# --- interface-distributed -----------------------------------------------------------------------

APPLIANCES: list[dict[str, Any]] = [
    {"__typename": "Oven", "id": "oven1"},
    {"__typename": "Oven", "id": "oven2"},
    {"__typename": "Toaster", "id": "toaster1", "warranty": 3},
    {"__typename": "Toaster", "id": "toaster2", "warranty": 4},
]


@pytest.fixture
def shop(in_process_subgraphs: type[InProcessSubgraphs]) -> InProcessSubgraphs:
    by_id = {a["id"]: a for a in APPLIANCES}
    toasters = [a for a in APPLIANCES if a["__typename"] == "Toaster"]
    shop_roots: dict[str, Any] = {
        "Query.products": lambda *_: APPLIANCES,
        "Query.node": lambda _, __, id: by_id.get(id),
        "Query.nodes": lambda *_: toasters,
        "Query.toasters": lambda *_: toasters,
    }
    resolvers: dict[str, Resolvers] = {
        "shop": (
            shop_roots,
            {"Oven": lambda rep: by_id[rep["id"]], "Toaster": lambda rep: by_id[rep["id"]]},
        ),
        "service": (
            {},
            {"Oven": lambda rep: {"__typename": "Oven", "id": rep["id"], "warranty": 1}},
        ),
    }
    return _subgraphs(in_process_subgraphs, "interface-distributed", resolvers)


TOASTER_WARRANTIES = [{"warranty": 3}, {"warranty": 4}]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "{ products { ... on Node { id } } }",
            {
                "products": [
                    {"id": "oven1"},
                    {"id": "oven2"},
                    {"id": "toaster1"},
                    {"id": "toaster2"},
                ]
            },
        ),
        (
            "{ products { ... on WithWarranty { warranty } } }",
            {"products": [{"warranty": 1}, {"warranty": 1}, *TOASTER_WARRANTIES]},
        ),
        (
            "{ nodes { ... on Toaster { warranty } ... on Oven { id } } }",
            {"nodes": TOASTER_WARRANTIES},
        ),
        ("{ nodes { id } }", {"nodes": [{"id": "toaster1"}, {"id": "toaster2"}]}),
        ("{ nodes { ... on Node { id } } }", {"nodes": [{"id": "toaster1"}, {"id": "toaster2"}]}),
        (
            "{ nodes { ... on Node { ... on WithWarranty { warranty } } } }",
            {"nodes": TOASTER_WARRANTIES},
        ),
        (
            "{ nodes { ... on Node { id ... on Node { id ... on WithWarranty { warranty } } } } }",
            {"nodes": [{"id": "toaster1", "warranty": 3}, {"id": "toaster2", "warranty": 4}]},
        ),
        ('{ node(id: "toaster1") { ... on Toaster { warranty } } }', {"node": {"warranty": 3}}),
    ],
)
async def test_type_conditions_follow_each_subgraphs_own_implementations(
    shop: InProcessSubgraphs, query: str, expected: dict[str, Any]
) -> None:
    assert await shop.answer(query) == {"data": expected}
    assert shop.rejected == []


async def test_object_the_subgraph_cannot_return_for_an_interface_is_an_error(
    shop: InProcessSubgraphs,
) -> None:
    body = await shop.answer('{ node(id: "oven1") { ... on Oven { warranty } } }')
    assert body["data"] == {"node": None}
    assert [error["path"] for error in body["errors"]] == [["node"]]


# --- union-narrowed ------------------------------------------------------------------------------

BOOK = {"__typename": "Book", "id": "b1", "title": "The Lord of the Rings"}
SONG = {"__typename": "Song", "id": "s2", "title": "Song Title", "aTitle": "A: Song Title"}
MOVIE = {"__typename": "Movie", "id": "m3", "title": "A Movie Title", "bTitle": "B Movie Title"}


@pytest.fixture
def media(in_process_subgraphs: type[InProcessSubgraphs]) -> InProcessSubgraphs:
    songs_book = {**BOOK, "aTitle": "A: The Lord of the Rings"}
    movies_book = {**BOOK, "bTitle": "B: The Lord of the Rings"}
    songs_roots = {
        "Query.media": lambda *_: songs_book,
        "Query.aMedia": lambda *_: songs_book,
        "Query.book": lambda *_: songs_book,
        "Query.song": lambda *_: SONG,
        "Query.viewer": lambda *_: {
            "media": songs_book,
            "aMedia": songs_book,
            "book": songs_book,
            "song": SONG,
        },
    }
    movies_roots = {
        "Query.media": lambda *_: movies_book,
        "Query.bMedia": lambda *_: movies_book,
        "Query.book": lambda *_: movies_book,
        "Query.viewer": lambda *_: {"media": movies_book, "bMedia": MOVIE, "book": movies_book},
    }
    resolvers = {
        "songs": (songs_roots, {"Book": lambda rep: songs_book, "Song": lambda rep: SONG}),
        "movies": (movies_roots, {"Book": lambda rep: movies_book, "Movie": lambda rep: MOVIE}),
    }
    return _subgraphs(in_process_subgraphs, "union-narrowed", resolvers)


ANY_MEDIA = "__typename ... on Song { title } ... on Movie { title } ... on Book { title }"
ANY_MEDIA_OWN = (
    "__typename ... on Song { title aTitle } ... on Movie { title bTitle }"
    " ... on Book { title aTitle bTitle }"
)
TITLED_BOOK = {"__typename": "Book", "title": "The Lord of the Rings"}
FULL_BOOK = {
    **TITLED_BOOK,
    "aTitle": "A: The Lord of the Rings",
    "bTitle": "B: The Lord of the Rings",
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ media { ... on Movie { title } } }", {"media": {}}),
        (
            "{ media { ... on Book { title } ... on Movie { title } } }",
            {"media": {"title": BOOK["title"]}},
        ),
        (
            "{ book { ... on Song { title } ... on Book { title } } }",
            {"book": {"title": BOOK["title"]}},
        ),
        (
            f"{{ viewer {{ media {{ {ANY_MEDIA} }} book {{ {ANY_MEDIA} }}"
            f" song {{ {ANY_MEDIA} }} }} }}",
            {
                "viewer": {
                    "media": TITLED_BOOK,
                    "book": TITLED_BOOK,
                    "song": {"__typename": "Song", "title": "Song Title"},
                }
            },
        ),
        ("{ aMedia { ... on Movie { title bTitle } } }", {"aMedia": {}}),
        (
            "{ aMedia { ... on Book { title aTitle bTitle } } }",
            {"aMedia": {key: FULL_BOOK[key] for key in ("title", "aTitle", "bTitle")}},
        ),
        (
            f"{{ viewer {{ media {{ {ANY_MEDIA_OWN} }} book {{ {ANY_MEDIA_OWN} }}"
            f" song {{ {ANY_MEDIA_OWN} }} }} }}",
            {
                "viewer": {
                    "media": FULL_BOOK,
                    "book": FULL_BOOK,
                    "song": {
                        "__typename": "Song",
                        "title": "Song Title",
                        "aTitle": "A: Song Title",
                    },
                }
            },
        ),
        (
            "{ viewer { aMedia { ... on Movie { title bTitle } }"
            " bMedia { ... on Movie { title bTitle } } } }",
            {
                "viewer": {
                    "aMedia": {},
                    "bMedia": {"title": MOVIE["title"], "bTitle": MOVIE["bTitle"]},
                }
            },
        ),
    ],
)
async def test_fragments_are_pruned_by_the_fields_type_in_each_subgraph(
    media: InProcessSubgraphs, query: str, expected: dict[str, Any]
) -> None:
    assert await media.answer(query) == {"data": expected}
    assert media.rejected == []


# --- differential: random type conditions against the same graph as one schema ------------------


def _named_type(output: GraphQLOutputType) -> GraphQLNamedType:
    while isinstance(output, GraphQLNonNull | GraphQLList):
        output = output.of_type
    return output


def _possible(schema: GraphQLSchema, type_: GraphQLNamedType) -> set[str]:
    if isinstance(type_, GraphQLObjectType):
        return {type_.name}
    assert isinstance(type_, GraphQLInterfaceType | GraphQLUnionType)
    return {t.name for t in schema.get_possible_types(type_)}


@st.composite
def _nested_selection(
    draw: st.DrawFn, schema: GraphQLSchema, type_: GraphQLNamedType, depth: int
) -> str:
    """Leaf fields of ``type_`` and fragments on any type overlapping it, nested."""
    parts: list[str] = []
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
        leaves = sorted(n for n, f in type_.fields.items() if is_leaf_type(_named_type(f.type)))
        parts += draw(st.lists(st.sampled_from(leaves), max_size=2, unique=True))
    if depth > 0:
        here = _possible(schema, type_)
        conditions = sorted(
            name
            for name, candidate in schema.type_map.items()
            if not name.startswith("__")
            and isinstance(candidate, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
            and name != schema.query_type.name  # type: ignore[union-attr]
            and here & _possible(schema, candidate)
        )
        for name in draw(st.lists(st.sampled_from(conditions), max_size=3, unique=True)):
            inner = draw(_nested_selection(schema, schema.type_map[name], depth - 1))
            parts.append(f"... on {name} {{ {inner} }}")
    return " ".join(parts) or "__typename"


@st.composite
def _operation(draw: st.DrawFn, schema: GraphQLSchema, roots: tuple[str, ...]) -> str:
    parts = []
    for path in draw(st.lists(st.sampled_from(roots), min_size=1, max_size=3, unique=True)):
        type_: GraphQLNamedType = schema.query_type  # type: ignore[assignment]
        for name in path.split("."):
            assert isinstance(type_, GraphQLObjectType)
            type_ = _named_type(type_.fields[name].type)
        inner = draw(_nested_selection(schema, type_, 2))
        text = f"{{ {inner} }}"
        for name in reversed(path.split(".")):
            text = f"{name} {text}"
            text = f"{{ {text} }}" if name != path.split(".")[0] else text
        parts.append(text)
    return "{ " + " ".join(parts) + " }"


def _monolith(supergraph: Supergraph, roots: dict[str, Any]) -> GraphQLSchema:
    schema = build_schema(print_schema(supergraph.api_schema))
    query = schema.query_type
    assert query is not None
    for name, value in roots.items():
        query.fields[name].resolve = lambda *_, value=value: value
    return schema


MONOLITHS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "interface-distributed": (
        {
            "products": [{**a, "warranty": a.get("warranty", 1)} for a in APPLIANCES],
            "nodes": APPLIANCES[2:],
            "toasters": APPLIANCES[2:],
        },
        ("products", "nodes", "toasters"),
    ),
    "union-narrowed": (
        {
            "media": FULL_BOOK | {"id": "b1"},
            "aMedia": FULL_BOOK | {"id": "b1"},
            "bMedia": FULL_BOOK | {"id": "b1"},
            "book": FULL_BOOK | {"id": "b1"},
            "song": SONG,
            "viewer": {
                "media": FULL_BOOK | {"id": "b1"},
                "aMedia": FULL_BOOK | {"id": "b1"},
                "bMedia": MOVIE,
                "book": FULL_BOOK | {"id": "b1"},
                "song": SONG,
            },
        },
        (
            "media",
            "aMedia",
            "bMedia",
            "book",
            "song",
            "viewer.media",
            "viewer.book",
            "viewer.bMedia",
        ),
    ),
}


@pytest.mark.parametrize("shape", sorted(MONOLITHS))
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_type_conditions_answer_like_a_single_schema(
    shape: str,
    data: st.DataObject,
    shop: InProcessSubgraphs,
    media: InProcessSubgraphs,
) -> None:
    subgraphs = shop if shape == "interface-distributed" else media
    roots, paths = MONOLITHS[shape]
    monolith = _monolith(subgraphs.supergraph, roots)
    query = data.draw(_operation(monolith, paths))
    assume(not validate(monolith, parse(query)))
    expected = await graphql(monolith, query)
    assert expected.errors is None, expected.errors
    subgraphs.rejected.clear()
    assert await subgraphs.answer(query) == {"data": expected.data}, query
    assert subgraphs.rejected == []


# --- properties of @requires representations and of missing fields ------------------------------

DATA_VALUES = {
    "Baz": {"__typename": "Baz", "foo": "f", "baz": "z"},
    "Qux": {"__typename": "Qux", "foo": "f", "qux": "q"},
    "Sealed": {"__typename": "Sealed", "foo": "f"},
}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(kinds=st.lists(st.sampled_from(sorted(DATA_VALUES)), max_size=6))
async def test_every_requires_representation_matches_the_type_conditions(
    kinds: list[str], in_process_subgraphs: type[InProcessSubgraphs]
) -> None:
    users = {
        f"u{i}": {"__typename": "User", "id": f"u{i}", "data": DATA_VALUES[k]}
        for i, k in enumerate(kinds)
    }

    def badge(rep: dict[str, Any]) -> Any:
        # exactly the fields the field set selects for this object's type, nothing else
        assert rep["data"] == DATA_VALUES[rep["data"]["__typename"]], rep
        return {"__typename": "User", "id": rep["id"], "summary": rep["data"]["__typename"]}

    subgraphs = _subgraphs(
        in_process_subgraphs,
        "requires-fragments",
        {
            "profiles": ({"Query.users": lambda *_: list(users.values())}, {}),
            "badges": ({}, {"User": badge}),
        },
    )
    body = await subgraphs.answer("{ users { summary } }")
    assert body == {"data": {"users": [{"summary": kind} for kind in kinds]}}
    assert len(subgraphs.sent("badges")) == (1 if kinds else 0)


def _omit_user_ids(service: str, response: dict[str, Any]) -> None:
    """A non-compliant subgraph: ``profiles`` leaves the key ``id`` out of every user."""
    if service == "profiles":
        for user in response["data"]["users"]:
            user.pop("id", None)


async def test_entity_that_cannot_be_represented_gets_an_error_not_silence(
    in_process_subgraphs: type[InProcessSubgraphs],
) -> None:
    resolvers: dict[str, Resolvers] = {
        "profiles": ({"Query.users": lambda *_: [{"id": "u1", "data": USERS["u1"]}]}, {}),
        "badges": ({}, {"User": lambda rep: {"__typename": "User", "summary": "never"}}),
    }
    subgraphs = in_process_subgraphs(AUDIT / "requires-fragments", resolvers, tamper=_omit_user_ids)
    body = await subgraphs.answer("{ users { summary } }")
    assert body == {
        "data": {"users": [{"summary": None}]},
        "errors": [
            {
                "message": "badges was not asked for this User: a field its @key or @requires "
                "needs is missing",
                "path": ["users", 0, "summary"],
                "extensions": {"code": "ENTITY_REPRESENTATION_INCOMPLETE", "serviceName": "badges"},
            }
        ],
    }
    assert subgraphs.sent("badges") == []


def test_selected_field_missing_without_an_error_is_never_silent() -> None:
    supergraph = parse_supergraph((AUDIT / "union-narrowed" / "supergraph.graphql").read_text())
    document = parse("{ viewer { song { ... on Song { title aTitle } } } }")
    shape: dict[str, Any] = {
        "schema": supergraph.api_schema,
        "operation": find_operation(document, None),
        "fragments": {},
        "variables": None,
    }
    data = {"viewer": {"song": {"__typename": "Song", "title": "Song Title"}}}
    with pytest.raises(SilentDataLossError, match=r"Song\.aTitle .*'viewer', 'song', 'aTitle'"):
        shape_response(**shape, data=data, errors=[], check_invariants=True)
    # outside dev and test the field is reported (the non-null aTitle nulls its parent)
    assert shape_response(**shape, data=data, errors=[]) == {
        "data": {"viewer": {"song": None}},
        "errors": [
            {
                "message": "Song.aTitle was not fetched from any subgraph.",
                "path": ["viewer", "song", "aTitle"],
                "extensions": {"code": "FIELD_NOT_FETCHED"},
            }
        ],
    }
    # an error on the field's path explains its absence
    explained = [{"message": "boom", "path": ["viewer", "song"]}]
    assert (
        shape_response(**shape, data=data, errors=explained, check_invariants=True)["errors"]
        == explained
    )
