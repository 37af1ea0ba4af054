"""Planning stages 2 to 4: the walk builds a ``FetchGraph`` (every field placed in one fetch
group, edges for what each group waits for), ``optimize`` tidies it, ``emit`` turns it into plan
nodes. Each stage is driven directly with its input value."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import FieldNode, parse

from nova_gateway.federation.planning.emit import CircularDependencyError, emit_plan, plan_node
from nova_gateway.federation.planning.fetch_graph import EntityTarget, FetchGraph, FetchGroup
from nova_gateway.federation.planning.field_sets import parse_field_set
from nova_gateway.federation.planning.normalize import prepare_operation
from nova_gateway.federation.planning.optimize import optimize
from nova_gateway.federation.planning.placement import Placement
from nova_gateway.federation.planning.plan import (
    ConditionNode,
    FlattenNode,
    SequenceNode,
    ShapeField,
    outline,
)
from nova_gateway.federation.planning.walk import build_fetch_graph
from nova_gateway.federation.supergraph.parse import parse_supergraph

SUPERGRAPH = parse_supergraph(
    (Path(__file__).parent / "fixtures" / "supergraph.graphql").read_text()
)


def fetch_graph(query: str) -> FetchGraph:
    operation = prepare_operation(SUPERGRAPH, parse(query))
    (fields,) = operation.batches()
    return build_fetch_graph(Placement(SUPERGRAPH), operation, fields)


# --- walk: PreparedOperation → FetchGraph ---------------------------------------------------


def test_every_field_is_placed_in_the_subgraph_that_resolves_it() -> None:
    graph = fetch_graph("{ topProducts { name reviews { body author { name } } } }")
    assert [(g.index, g.graph, g.path) for g in graph.groups] == [
        (0, "products", ()),
        (1, "reviews", ("topProducts", "@")),
        (2, "accounts", ("topProducts", "@", "reviews", "@", "author")),
    ]
    assert graph.edges() == [(0, 1), (1, 2)]
    assert graph.placements() == [
        ("products", ("topProducts",)),
        ("products", ("topProducts", "name")),
        ("products", ("topProducts", "upc")),  # the key the reviews fetch is entered with
        ("reviews", ("topProducts", "reviews")),
        ("reviews", ("topProducts", "reviews", "body")),
        ("reviews", ("topProducts", "reviews", "author")),
        ("reviews", ("topProducts", "reviews", "author", "id")),
        ("accounts", ("topProducts", "reviews", "author", "name")),
    ]
    entity = graph.groups[1].entity
    assert entity == EntityTarget("Product", frozenset({"Product"}), None)
    assert list(graph.groups[1].representation) == ["upc"]


def test_required_fields_are_placed_before_the_group_that_needs_them() -> None:
    graph = fetch_graph("{ topProducts { shippingEstimate } }")
    assert graph.placements() == [
        ("products", ("topProducts",)),
        ("products", ("topProducts", "sku")),
        ("products", ("topProducts", "brand")),
        ("products", ("topProducts", "price")),
        ("products", ("topProducts", "weight")),
        ("inventory", ("topProducts", "shippingEstimate")),
    ]
    assert graph.edges() == [(0, 1)]
    inventory = graph.groups[1]
    assert list(inventory.representation) == ["sku", "brand", "price", "weight"]
    # the @requires fields, unlike the key, may be absent when their field was skipped
    assert inventory.optional == {"price", "weight"}


def test_a_key_only_another_subgraph_knows_adds_an_edge_from_its_group() -> None:
    graph = fetch_graph("{ reviews { product { inStock } } }")
    assert [g.graph for g in graph.groups] == ["reviews", "products", "inventory"]
    # inventory is entered with sku and brand, which only products has: it waits for both
    assert graph.edges() == [(0, 1), (0, 2), (1, 2)]
    assert graph.placements()[3:] == [
        ("products", ("reviews", "product", "sku")),
        ("products", ("reviews", "product", "brand")),
        ("inventory", ("reviews", "product", "inStock")),
    ]


def test_a_shareable_field_stays_in_the_group_it_is_asked_in() -> None:
    graph = fetch_graph("{ reviews { product { name } } }")
    assert [g.graph for g in graph.groups] == ["reviews"]
    assert graph.edges() == []


# --- optimise: FetchGraph → FetchGraph --------------------------------------------------------


def field_node(field_set: str) -> FieldNode:
    (node,) = parse_field_set(field_set)
    assert isinstance(node, FieldNode)
    return node


def group(index: int, graph: str, fields: tuple[str, ...], depends_on: set[int]) -> FetchGroup:
    made = FetchGroup(index=index, graph=graph, path=(), depends_on=depends_on)
    for name in fields:
        made.tree.add_field(name, name)
    return made


def test_optimise_drops_empty_groups_and_self_edges_without_touching_its_input() -> None:
    graph = FetchGraph(
        "query",
        {},
        [group(0, "a", ("x",), {0}), group(1, "b", (), set()), group(2, "c", ("y",), {0, 2})],
    )
    optimised = optimize(graph)
    assert [(g.index, g.graph) for g in optimised.groups] == [(0, "a"), (2, "c")]
    assert optimised.edges() == [(0, 2)]
    assert graph.edges() == [(0, 0), (0, 2), (2, 2)]
    assert len(graph.groups) == 3


# --- emit: FetchGraph → plan nodes ------------------------------------------------------------


def test_single_parent_groups_emit_a_tree_of_sequences_and_parallels() -> None:
    graph = FetchGraph(
        "query",
        {},
        [group(0, "a", ("x",), set()), group(1, "b", ("y",), {0}), group(2, "c", ("z",), {0})],
    )
    assert outline(plan_node(graph)) == (
        "Sequence",
        (
            ("Fetch", "a", ("x",)),
            ("Parallel", (("Fetch", "b", ("y",)), ("Fetch", "c", ("z",)))),
        ),
    )


def test_a_group_waiting_for_two_others_emits_dependency_stages() -> None:
    graph = FetchGraph(
        "query",
        {},
        [group(0, "a", ("x",), set()), group(1, "b", ("y",), set()), group(2, "c", ("z",), {0, 1})],
    )
    assert outline(plan_node(graph)) == (
        "Sequence",
        (
            ("Parallel", (("Fetch", "a", ("x",)), ("Fetch", "b", ("y",)))),
            ("Fetch", "c", ("z",)),
        ),
    )


def test_groups_waiting_for_each_other_cannot_be_emitted() -> None:
    graph = FetchGraph(
        "query",
        {},
        [group(0, "a", ("x",), {2}), group(1, "b", ("y",), {0, 2}), group(2, "c", ("z",), {1})],
    )
    with pytest.raises(CircularDependencyError):
        plan_node(graph)


def test_an_entity_group_emits_a_flattened_entities_fetch_with_its_variables() -> None:
    entity = FetchGroup(index=1, graph="reviews", path=("topProducts", "@"), depends_on={0})
    entity.entity = EntityTarget("Product", frozenset({"Product"}), None)
    entity.representation = {"upc": ShapeField("upc", "upc")}
    entity.tree.add_field("reviews", "reviews", field_node("reviews(first: $n)").arguments or ())
    graph = FetchGraph(
        "query", {"n": "$n: Int"}, [group(0, "products", ("topProducts",), set()), entity]
    )
    node = plan_node(graph)
    assert node is not None
    assert isinstance(node, SequenceNode)
    flatten = node.nodes[1]
    assert isinstance(flatten, FlattenNode)
    assert flatten.node.operation == (
        "query($representations: [_Any!]!, $n: Int) { _entities(representations: "
        "$representations) { ... on Product { reviews(first: $n) } } }"
    )
    assert flatten.node.variable_usages == ("n",)
    assert outline(flatten) == (
        "Flatten",
        "topProducts.@",
        ("Entities", "reviews", "Product", ("upc",), ("reviews(first: $n)",)),
    )


def test_a_group_whose_every_field_shares_a_condition_is_emitted_under_it() -> None:
    conditional = FetchGroup(index=0, graph="a", path=())
    directive = field_node("x @include(if: $v)").directives or ()
    conditional.tree.add_field("x", "x", (), directive)
    node = plan_node(FetchGraph("query", {"v": "$v: Boolean!"}, [conditional]))
    assert isinstance(node, ConditionNode)
    assert outline(node) == ("Include", "v", ("Fetch", "a", ("x @include(if: $v)",)))


def test_a_mutation_emits_its_graphs_in_order_and_nothing_for_empty_ones() -> None:
    first = FetchGraph("mutation", {}, [group(0, "a", ("x",), set())])
    second = FetchGraph("mutation", {}, [group(0, "a", ("y",), set())])
    plan = emit_plan("mutation", [first, FetchGraph("mutation", {}, []), second])
    assert plan.operation_kind == "mutation"
    assert outline(plan) == ("Sequence", (("Fetch", "a", ("x",)), ("Fetch", "a", ("y",))))
    assert emit_plan("query", []).node is None
