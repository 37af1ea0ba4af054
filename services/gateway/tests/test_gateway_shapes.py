"""Federation shapes the main fixture does not have, each planned, executed and shaped over
in-memory subgraphs (``fixtures/shapes``: a shelf, a ledger and a depot):

- a key whose nested field comes from a third subgraph (``Crate @key(fields: "lots { id code }")``);
- a value type whose fields are spread over the subgraphs sharing its root field (``Store``) or
  its parent entity (``Lot.origin``);
- a shared root field with ``@provides`` under a type condition (``Query.items``);
- an ``@interfaceObject`` (``Volume``) whose objects only the ledger can name;
- an ``@inaccessible`` enum value a subgraph still returns (``Grade.WITHDRAWN``);
- ``@requires`` of a field with arguments the subgraph itself resolves, its nested field from
  another subgraph (``Shipment.senders``);
- an interface field one implementation moved to another subgraph (``Ribbon.label``);
- union members whose same-named field has two types in one subgraph (``Coin.mark`` is
  ``String!`` in the depot, ``Shard.mark`` is ``String``).

Expected values come from the data below and the federation semantics, not from the gateway.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from graphql import parse

from nova_gateway.federation.planning.plan import Outline, outline
from nova_gateway.federation.planning.planner import plan_operation
from nova_gateway.federation.supergraph.parse import parse_supergraph

if TYPE_CHECKING:
    from services.gateway.tests.conftest import InProcessSubgraphs

SHAPES = Path(__file__).parent / "fixtures" / "shapes"
SUPERGRAPH = parse_supergraph((SHAPES / "supergraph.graphql").read_text())
COMPOSE = Path(__file__).resolve().parents[3] / "deploy" / "compose"
AUDIT = Path(__file__).parent / "fixtures" / "audit"
HAND_WRITTEN = {"union-narrowed", "unreachable-interface-object"}
"""Audit-shape supergraphs written in the shape the reference composer produces (see
test_gateway_audit_shapes.py); every other fixture supergraph is the pinned composer's."""
COMPOSED = [
    SHAPES,
    *sorted(d for d in AUDIT.iterdir() if d.is_dir() and d.name not in HAND_WRITTEN),
]

LOTS = {
    "l1": {"code": "A", "grade": "FINE", "city": "Oslo"},
    "l2": {"code": "B", "grade": "WITHDRAWN", "city": "Lima"},
}
PARCELS = {"p1": "Ann", "p2": "Bob", "p3": "Cy"}
VOLUMES = {
    "v1": {"__typename": "Atlas", "pages": 120},
    "v2": {"__typename": "Almanac", "year": 1999},
}

Resolver = Any


def _shelf() -> tuple[dict[str, Resolver], dict[str, Resolver]]:
    roots = {
        "Query.store": lambda *_: {"name": "Corner", "address": "1 Main St"},
        "Query.items": lambda *_: [
            {"__typename": "Novel", "id": "n1", "title": "Dune"},
            {"__typename": "Comic", "id": "c1"},
        ],
        "Query.crate": lambda *_: {"lots": [{"id": "l1"}, {"id": "l2"}]},
        "Query.volumes": lambda *_: [
            {"__typename": "Volume", "id": "v1", "shelf": "S1"},
            {"__typename": "Volume", "id": "v2", "shelf": "S2"},
        ],
        "Query.shipments": lambda *_: [{"__typename": "Shipment", "id": "s1"}],
        "Query.badges": lambda *_: [{"__typename": "Ribbon", "id": "r1", "label": "stale"}],
    }
    references = {
        "Lot": lambda rep: {"__typename": "Lot", "id": rep["id"]},
        "Volume": lambda rep: {"__typename": "Volume", "id": rep["id"], "shelf": "S?"},
    }
    return roots, references


def _ledger() -> tuple[dict[str, Resolver], dict[str, Resolver]]:
    def lot(rep: dict[str, Any]) -> Any:
        found = LOTS[rep["id"]]
        return {
            "__typename": "Lot",
            "id": rep["id"],
            "code": found["code"],
            "grade": found["grade"],
            "origin": {"city": found["city"]},
        }

    references = {
        "Novel": lambda rep: {"__typename": "Novel", "id": rep["id"], "title": "Dune"},
        "Comic": lambda rep: {"__typename": "Comic", "id": rep["id"], "title": "Tintin"},
        "Lot": lot,
        "Volume": lambda rep: {"id": rep["id"], **VOLUMES[rep["id"]]},
        "Atlas": lambda rep: {"id": rep["id"], **VOLUMES[rep["id"]]},
        "Almanac": lambda rep: {"id": rep["id"], **VOLUMES[rep["id"]]},
        "Ribbon": lambda rep: {"__typename": "Ribbon", "id": rep["id"], "label": "Gold"},
        "Parcel": lambda rep: {
            "__typename": "Parcel",
            "id": rep["id"],
            "sender": PARCELS[rep["id"]],
        },
    }
    return {}, references


def _depot() -> tuple[dict[str, Resolver], dict[str, Resolver]]:
    def crate(rep: dict[str, Any]) -> Any:
        codes = [lot["code"] for lot in rep["lots"]]
        assert codes == [LOTS[lot["id"]]["code"] for lot in rep["lots"]], rep
        return {"__typename": "Crate", "lots": rep["lots"], "weight": 10 * len(codes)}

    def lot(rep: dict[str, Any]) -> Any:
        origin = {"city": LOTS[rep["id"]]["city"], "port": f"port {rep['code']}"}
        return {"__typename": "Lot", "id": rep["id"], "code": rep["code"], "origin": origin}

    def shipment(rep: dict[str, Any]) -> Any:
        parcels = [{"__typename": "Parcel", "id": key} for key in PARCELS]
        senders = None
        if "parcels" in rep:
            assert len(rep["parcels"]) == 2, rep
            senders = ", ".join(parcel["sender"] for parcel in rep["parcels"])
        return {"__typename": "Shipment", "id": rep["id"], "parcels": parcels, "senders": senders}

    roots = {
        "Query.store": lambda *_: {"name": "Corner", "hours": "9-17"},
        "Query.items": lambda *_: [
            {"__typename": "Novel", "id": "n1"},
            {"__typename": "Comic", "id": "c1"},
        ],
        "Shipment.parcels": lambda shipment, _, limit: shipment["parcels"][:limit],
        "Query.finds": lambda *_: [
            {"__typename": "Coin", "mark": "lion"},
            {"__typename": "Shard", "mark": None},
        ],
    }
    return roots, {"Crate": crate, "Lot": lot, "Shipment": shipment}


@pytest.fixture
def shapes(in_process_subgraphs: type[InProcessSubgraphs]) -> InProcessSubgraphs:
    return in_process_subgraphs(SHAPES, {"shelf": _shelf(), "ledger": _ledger(), "depot": _depot()})


async def answer(subgraphs: InProcessSubgraphs, query: str) -> dict[str, Any]:
    return await subgraphs.answer(query)


def plan_outline(query: str) -> Outline | None:
    return outline(plan_operation(SUPERGRAPH, parse(query)))


async def test_nested_key_field_from_another_subgraph_is_fetched_before_the_entity(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(shapes, "{ crate { lots { id code } weight } }")
    assert body == {
        "data": {
            "crate": {"lots": [{"id": "l1", "code": "A"}, {"id": "l2", "code": "B"}], "weight": 20}
        }
    }
    assert shapes.services() == ["shelf", "ledger", "depot"]
    # the depot waits for the codes: ledger and depot are not fetched in parallel
    assert plan_outline("{ crate { lots { id code } weight } }") == (
        "Sequence",
        (
            ("Fetch", "shelf", (("crate", (("lots", ("id", "__typename")), "__typename")),)),
            ("Flatten", "crate.lots.@", ("Entities", "ledger", "Lot", ("id",), ("code",))),
            (
                "Flatten",
                "crate",
                ("Entities", "depot", "Crate", (("lots", ("id", "code")),), ("weight",)),
            ),
        ),
    )
    depot_request = shapes.requests[2][1]
    lots = [
        {"__typename": "Lot", "id": "l1", "code": "A"},
        {"__typename": "Lot", "id": "l2", "code": "B"},
    ]
    assert depot_request.variables["representations"] == [{"__typename": "Crate", "lots": lots}]


async def test_value_type_of_a_shared_root_field_is_fetched_from_each_subgraph(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(shapes, "{ store { name address hours } }")
    assert body == {"data": {"store": {"name": "Corner", "address": "1 Main St", "hours": "9-17"}}}
    assert sorted(shapes.services()) == ["depot", "shelf"]
    assert "_entities" not in "".join(r.query for _, r in shapes.requests)


async def test_value_type_field_re_enters_through_the_nearest_entity(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(shapes, "{ crate { lots { origin { city port } } } }")
    assert body == {
        "data": {
            "crate": {
                "lots": [
                    {"origin": {"city": "Oslo", "port": "port A"}},
                    {"origin": {"city": "Lima", "port": "port B"}},
                ]
            }
        }
    }
    service, depot_request = shapes.requests[-1]
    assert service == "depot"
    assert depot_request.variables["representations"] == [
        {"__typename": "Lot", "id": "l1", "code": "A"},
        {"__typename": "Lot", "id": "l2", "code": "B"},
    ]


async def test_shared_root_field_comes_from_the_subgraph_providing_its_selection(
    shapes: InProcessSubgraphs,
) -> None:
    assert plan_outline("{ items { ... on Novel { id title } } }") == (
        "Fetch",
        "shelf",
        (("items", ("__typename", ("... on Novel", ("id", "title")))),),
    )
    body = await answer(shapes, "{ items { ... on Novel { title } ... on Comic { title } } }")
    assert body == {"data": {"items": [{"title": "Dune"}, {"title": "Tintin"}]}}


async def test_provides_under_a_type_condition_covers_that_type_only(
    shapes: InProcessSubgraphs,
) -> None:
    query = "{ items { ... on Novel { title } ... on Comic { id title } } }"
    plan = plan_operation(SUPERGRAPH, parse(query))
    assert [(f.service, f.entity is not None) for f in plan.fetches()] == [
        ("shelf", False),
        ("ledger", True),
    ]
    body = await answer(shapes, query)
    assert body == {"data": {"items": [{"title": "Dune"}, {"id": "c1", "title": "Tintin"}]}}


async def test_interface_object_objects_are_named_by_the_interface_subgraph(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(
        shapes, "{ volumes { __typename id shelf ... on Atlas { pages } ... on Almanac { year } } }"
    )
    assert body == {
        "data": {
            "volumes": [
                {"__typename": "Atlas", "id": "v1", "shelf": "S1", "pages": 120},
                {"__typename": "Almanac", "id": "v2", "shelf": "S2", "year": 1999},
            ]
        }
    }


async def test_interface_object_fields_alone_need_no_implementation_name(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(shapes, "{ volumes { id shelf } }")
    assert body == {"data": {"volumes": [{"id": "v1", "shelf": "S1"}, {"id": "v2", "shelf": "S2"}]}}
    assert shapes.services() == ["shelf"]


async def test_inaccessible_enum_value_from_a_subgraph_is_null(shapes: InProcessSubgraphs) -> None:
    body = await answer(shapes, "{ crate { lots { id grade } } }")
    assert body == {
        "data": {"crate": {"lots": [{"id": "l1", "grade": "FINE"}, {"id": "l2", "grade": None}]}}
    }


async def test_required_field_of_the_same_subgraph_is_fetched_before_it(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(shapes, "{ shipments { senders } }")
    assert body == {"data": {"shipments": [{"senders": "Ann, Bob"}]}}
    assert shapes.services() == ["shelf", "depot", "ledger", "depot"]


async def test_required_field_with_arguments_does_not_clash_with_the_clients(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(shapes, "{ shipments { senders parcels(limit: 1) { id } } }")
    assert body == {"data": {"shipments": [{"senders": "Ann, Bob", "parcels": [{"id": "p1"}]}]}}


async def test_interface_field_overridden_on_an_implementation_comes_from_the_override(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(shapes, "{ badges { label } }")
    assert body == {"data": {"badges": [{"label": "Gold"}]}}
    assert shapes.services() == ["shelf", "ledger"]


async def test_same_named_fields_of_two_types_in_one_subgraph_are_fetched_apart(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(shapes, "{ finds { ... on Coin { mark } ... on Shard { mark } } }")
    assert body == {"data": {"finds": [{"mark": "lion"}, {"mark": None}]}}


@pytest.mark.skipif(
    shutil.which("node") is None
    or not (COMPOSE / "node_modules" / "@theguild" / "federation-composition").is_dir(),
    reason="composition needs node and `npm ci --prefix deploy/compose`",
)
@pytest.mark.parametrize("directory", COMPOSED, ids=lambda d: d.name)
def test_shapes_supergraph_matches_a_fresh_composition(directory: Path) -> None:
    node = shutil.which("node")
    assert node is not None
    subgraphs = sorted(
        str(p) for p in directory.glob("*.graphql") if p.name != "supergraph.graphql"
    )
    result = subprocess.run(
        [node, str(COMPOSE / "compose.mjs"), *subgraphs],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    relative = directory.relative_to(Path(__file__).parents[3])
    assert result.stdout == (directory / "supergraph.graphql").read_text(), (
        f"{relative}/supergraph.graphql is out of date; regenerate it with: node "
        f"deploy/compose/compose.mjs -o {relative}/supergraph.graphql {relative}/<subgraphs>"
    )


async def test_fragment_on_the_interface_itself_keeps_its_fields(
    shapes: InProcessSubgraphs,
) -> None:
    body = await answer(shapes, "{ volumes { ... on Volume { id shelf } } }")
    assert body == {"data": {"volumes": [{"id": "v1", "shelf": "S1"}, {"id": "v2", "shelf": "S2"}]}}
