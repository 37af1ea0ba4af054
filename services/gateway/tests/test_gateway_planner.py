"""The planner: whole plans for each federation feature, and properties that hold for any
operation (planning is deterministic; every requested field is fetched exactly once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import (
    FieldNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    validate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_gateway.federation.errors import PlanningError
from nova_gateway.federation.planning.normalize import without_static_exclusions
from nova_gateway.federation.planning.plan import (
    ConditionNode,
    FetchNode,
    FlattenNode,
    Outline,
    PlanNode,
    QueryPlan,
    outline,
)
from nova_gateway.federation.planning.planner import plan_operation
from nova_gateway.federation.supergraph.model import Supergraph
from nova_gateway.federation.supergraph.parse import parse_supergraph

SUPERGRAPH = parse_supergraph(
    (Path(__file__).parent / "fixtures" / "supergraph.graphql").read_text()
)


def plan_outline(query: str, supergraph: Supergraph = SUPERGRAPH) -> Outline | None:
    return outline(plan_operation(supergraph, parse(query)))


def test_single_subgraph_query_is_one_fetch() -> None:
    assert plan_outline("{ me { id name } }") == ("Fetch", "accounts", (("me", ("id", "name")),))


def test_entity_jumps_form_a_sequence_with_flatten_paths() -> None:
    assert plan_outline("{ topProducts { name reviews { body author { name } } } }") == (
        "Sequence",
        (
            ("Fetch", "products", (("topProducts", ("name", "__typename", "upc")),)),
            (
                "Sequence",
                (
                    (
                        "Flatten",
                        "topProducts.@",
                        (
                            "Entities",
                            "reviews",
                            "Product",
                            ("upc",),
                            (("reviews", ("body", ("author", ("__typename", "id")))),),
                        ),
                    ),
                    (
                        "Flatten",
                        "topProducts.@.reviews.@.author",
                        ("Entities", "accounts", "User", ("id",), ("name",)),
                    ),
                ),
            ),
        ),
    )


def test_a_fetch_whose_fields_share_a_condition_runs_under_it() -> None:
    assert plan_outline(
        "query($x: Boolean!, $u: String!) { product(upc: $u) { upc reviews @include(if: $x) "
        "{ id } } me @skip(if: $x) { id } }"
    ) == (
        "Parallel",
        (
            (
                "Sequence",
                (
                    ("Fetch", "products", (("product(upc: $u)", ("upc", "__typename")),)),
                    (
                        "Include",
                        "x",
                        (
                            "Flatten",
                            "product",
                            (
                                "Entities",
                                "reviews",
                                "Product",
                                ("upc",),
                                (("reviews @include(if: $x)", ("id",)),),
                            ),
                        ),
                    ),
                ),
            ),
            ("Skip", "x", ("Fetch", "accounts", (("me @skip(if: $x)", ("id",)),))),
        ),
    )


def test_fetches_waiting_on_a_conditional_fetch_run_under_its_condition() -> None:
    assert plan_outline(
        'query($x: Boolean!) { product(upc: "1") { name reviews @include(if: $x) '
        "{ body author { name } } } }"
    ) == (
        "Sequence",
        (
            ("Fetch", "products", (('product(upc: "1")', ("name", "__typename", "upc")),)),
            (
                "Include",
                "x",
                (
                    "Sequence",
                    (
                        (
                            "Flatten",
                            "product",
                            (
                                "Entities",
                                "reviews",
                                "Product",
                                ("upc",),
                                (
                                    (
                                        "reviews @include(if: $x)",
                                        ("body", ("author", ("__typename", "id"))),
                                    ),
                                ),
                            ),
                        ),
                        (
                            "Flatten",
                            "product.reviews.@.author",
                            ("Entities", "accounts", "User", ("id",), ("name",)),
                        ),
                    ),
                ),
            ),
        ),
    )


def test_literal_conditions_are_applied_at_plan_time() -> None:
    assert plan_outline(
        '{ product(upc: "1") { upc reviews @include(if: false) { id } } me @skip(if: true) { id } '
        "a: me @include(if: true) { name } }"
    ) == (
        "Parallel",
        (
            ("Fetch", "products", (('product(upc: "1")', ("upc",)),)),
            ("Fetch", "accounts", (("a: me @include(if: true)", ("name",)),)),
        ),
    )
    assert plan_outline("{ me @include(if: false) { id } }") is None
    assert plan_outline("mutation { ... @skip(if: true) { __typename } }") is None


def test_a_fetch_with_one_unconditional_field_is_always_sent() -> None:
    plan = plan_operation(
        SUPERGRAPH,
        parse(
            "query($x: Boolean!, $y: Boolean!) { me @include(if: $x) { id } "
            "a: me @include(if: $y) { name } b: me @include(if: true) { id } }"
        ),
    )
    assert not any(isinstance(node, ConditionNode) for node in _nodes(plan.node))
    both = plan_outline(
        'query($x: Boolean!, $y: Boolean!) { product(upc: "1") { upc '
        "... @include(if: $y) { reviews @include(if: $x) { id } } } }"
    )
    # Every field of the reviews fetch is under both conditions: it runs only when both hold.
    assert both is not None
    then = both[1]
    assert isinstance(then, tuple)
    assert then[1] == (
        "Include",
        "x",
        (
            "Include",
            "y",
            (
                "Flatten",
                "product",
                (
                    "Entities",
                    "reviews",
                    "Product",
                    ("upc",),
                    (("... @include(if: $y)", (("reviews @include(if: $x)", ("id",)),)),),
                ),
            ),
        ),
    )


def _nodes(node: PlanNode | None) -> list[PlanNode]:
    """``node`` and every node under it."""
    if node is None:
        return []
    if isinstance(node, FetchNode):
        return [node]
    if isinstance(node, FlattenNode):
        return [node, node.node]
    if isinstance(node, ConditionNode):
        return [node, *_nodes(node.if_clause), *_nodes(node.else_clause)]
    return [node, *(n for child in node.nodes for n in _nodes(child))]


def test_requires_fetches_required_fields_first_and_sends_them() -> None:
    plan = plan_operation(SUPERGRAPH, parse("{ topProducts { shippingEstimate } }"))
    fetches = plan.fetches()
    assert [f.service for f in fetches] == ["products", "inventory"]
    assert fetches[0].operation == "query { topProducts { __typename sku brand price weight } }"
    inventory = fetches[1]
    assert inventory.entity is not None
    assert [f.name for f in inventory.entity.representation] == ["sku", "brand", "price", "weight"]


def test_key_known_only_elsewhere_is_fetched_before_the_jump() -> None:
    assert plan_outline("{ reviews { product { inStock } } }") == (
        "Sequence",
        (
            ("Fetch", "reviews", (("reviews", (("product", ("__typename", "upc")),)),)),
            (
                "Flatten",
                "reviews.@.product",
                ("Entities", "products", "Product", ("upc",), ("sku", "brand")),
            ),
            (
                "Flatten",
                "reviews.@.product",
                ("Entities", "inventory", "Product", ("sku", "brand"), ("inStock",)),
            ),
        ),
    )


def test_shareable_field_stays_in_the_current_subgraph() -> None:
    assert plan_outline("{ reviews { product { name } } }") == (
        "Fetch",
        "reviews",
        (("reviews", (("product", ("name",)),)),),
    )


def test_provides_makes_an_external_field_local_on_that_path_only() -> None:
    assert plan_outline("{ reviews { author { username } } }") == (
        "Fetch",
        "reviews",
        (("reviews", (("author", ("username",)),)),),
    )
    # without @provides on the path, username comes from accounts
    fetches = plan_operation(
        SUPERGRAPH,
        parse('{ product(upc: "1") { reviews { author { reviews { author { id } } } } } }'),
    ).fetches()
    assert [f.service for f in fetches] == ["products", "reviews"]


def test_interface_object_jump_sends_the_interface_name() -> None:
    fetches = plan_operation(SUPERGRAPH, parse("{ media { title rating } }")).fetches()
    assert [f.service for f in fetches] == ["products", "reviews"]
    entity = fetches[1].entity
    assert entity is not None
    assert entity.typename == "Media"
    # objects an @interfaceObject subgraph returned carry the interface's name
    assert entity.accepted_types == frozenset({"Book", "Movie", "Media"})


def test_mutation_fields_are_sequenced_one_per_fetch() -> None:
    plan = plan_operation(
        SUPERGRAPH,
        parse('mutation { a: renameUser(id: "1", name: "x") { id } b: failingMutation }'),
    )
    assert plan.operation_kind == "mutation"
    assert [f.operation for f in plan.fetches()] == [
        'mutation { a: renameUser(id: "1", name: "x") { id } }',
        "mutation { b: failingMutation }",
    ]


def test_variables_are_declared_only_where_used() -> None:
    plan = plan_operation(
        SUPERGRAPH,
        parse(
            "query($u: String!, $n: Int, $x: Boolean!) { product(upc: $u) "
            "{ reviews { id @include(if: $x) } } topProducts(first: $n) { upc } }"
        ),
    )
    operations = {f.service: f for f in plan.fetches()}
    assert operations["products"].variable_usages == ("u", "n")
    assert operations["products"].operation.startswith("query($u: String!, $n: Int) {")
    assert operations["reviews"].variable_usages == ("x",)
    assert operations["reviews"].operation.startswith(
        "query($representations: [_Any!]!, $x: Boolean!) {"
    )


def test_unknown_operation_name() -> None:
    with pytest.raises(PlanningError, match="unknown operation"):
        plan_operation(SUPERGRAPH, parse("query A { me { id } }"), "B")


# --- the printer ------------------------------------------------------------------------------


def test_a_plan_prints_as_nested_blocks_with_each_subgraph_operation() -> None:
    plan = plan_operation(SUPERGRAPH, parse("{ topProducts { name reviews { body } } }"))
    assert str(plan) == (
        "QueryPlan {\n"
        "  Sequence {\n"
        '    Fetch(service: "products") { { topProducts { name __typename upc } } },\n'
        '    Flatten(path: "topProducts.@") {\n'
        '      Fetch(service: "reviews") { ... on Product { __typename upc } } => '
        "{ ... on Product { reviews { body } } }\n"
        "    },\n"
        "  }\n"
        "}"
    )
    assert str(plan_operation(SUPERGRAPH, parse("{ __typename }"))) == "QueryPlan {}"


def test_conditions_print_as_include_skip_or_both_branches() -> None:
    fetch = FetchNode(service="accounts", operation="query { me { id } }")
    assert str(QueryPlan("query", ConditionNode("x", if_clause=fetch))) == (
        'QueryPlan {\n  Include(if: $x) {\n    Fetch(service: "accounts") { { me { id } } }\n  }\n}'
    )
    assert str(ConditionNode("x", if_clause=None, else_clause=fetch)) == (
        'Skip(if: $x) {\n  Fetch(service: "accounts") { { me { id } } }\n}'
    )
    assert str(ConditionNode("x", if_clause=fetch, else_clause=fetch)).splitlines() == [
        "Condition(if: $x) {",
        "  Then {",
        '    Fetch(service: "accounts") { { me { id } } }',
        "  }",
        "  Else {",
        '    Fetch(service: "accounts") { { me { id } } }',
        "  }",
        "}",
    ]
    assert outline(ConditionNode("x", if_clause=fetch, else_clause=fetch)) == (
        "Condition",
        "x",
        ("Fetch", "accounts", (("me", ("id",)),)),
        ("Fetch", "accounts", (("me", ("id",)),)),
    )


# --- properties -------------------------------------------------------------------------------


def _field_paths(
    selection_set: SelectionSetNode | None, prefix: tuple[str, ...]
) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, InlineFragmentNode):
            found += _field_paths(selection.selection_set, prefix)
        elif isinstance(selection, FieldNode):
            if selection.name.value in ("__typename", "_entities"):
                found += _field_paths(selection.selection_set, prefix)
                continue
            path = (*prefix, (selection.alias or selection.name).value)
            found.append(path)
            found += _field_paths(selection.selection_set, path)
    return found


def _fetches_with_prefix(query: str) -> list[tuple[FetchNode, tuple[str, ...]]]:
    plan = plan_operation(SUPERGRAPH, parse(query))
    found: list[tuple[FetchNode, tuple[str, ...]]] = []

    def walk(node: object) -> None:
        if isinstance(node, FetchNode):
            found.append((node, ()))
        elif isinstance(node, FlattenNode):
            found.append((node.node, tuple(p for p in node.path if p != "@")))
        elif isinstance(node, ConditionNode):
            for clause in (node.if_clause, node.else_clause):
                walk(clause)
        for child in getattr(node, "nodes", ()):
            walk(child)

    walk(plan.node)
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_planning_is_deterministic(operations: Any, data: st.DataObject) -> None:
    query = data.draw(operations)
    assert validate(SUPERGRAPH.api_schema, parse(query)) == []
    first = plan_operation(SUPERGRAPH, parse(query))
    second = plan_operation(SUPERGRAPH, parse(query))
    assert first == second
    assert str(first) == str(second)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_requested_field_is_fetched_exactly_once(
    operations: Any, data: st.DataObject
) -> None:
    query = data.draw(operations)
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    # What a literal @include(if: false) / @skip(if: true) excludes is never requested.
    wanted = without_static_exclusions(document).definitions[0]
    assert isinstance(wanted, OperationDefinitionNode)
    requested = _field_paths(wanted.selection_set, ())
    fetched: list[tuple[str, ...]] = []
    for node, prefix in _fetches_with_prefix(query):
        parsed = parse(node.operation).definitions[0]
        assert isinstance(parsed, OperationDefinitionNode)
        # a path selected twice in one subgraph request is still fetched once
        fetched += set(_field_paths(parsed.selection_set, prefix))
    for path in requested:
        assert fetched.count(path) == 1, (path, query)
