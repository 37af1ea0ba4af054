"""Planning stage 1, normalise: a validated document in, a ``PreparedOperation`` out."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import FieldNode, FragmentDefinitionNode, InlineFragmentNode, parse, print_ast

from nova_gateway.federation.errors import PlanningError
from nova_gateway.federation.planning.normalize import (
    PreparedOperation,
    find_operation,
    inline_fragments,
    prepare_operation,
)
from nova_gateway.federation.supergraph.parse import parse_supergraph

SUPERGRAPH = parse_supergraph(
    (Path(__file__).parent / "fixtures" / "supergraph.graphql").read_text()
)


def prepare(query: str, operation_name: str | None = None) -> PreparedOperation:
    return prepare_operation(SUPERGRAPH, parse(query), operation_name)


def printed(fields: tuple[FieldNode, ...]) -> list[str]:
    return [print_ast(field).replace("\n", " ") for field in fields]


def compact(text: str) -> str:
    return " ".join(text.split())


def test_fragment_spreads_become_inline_fragments_with_the_spread_directives() -> None:
    prepared = prepare(
        "query($x: Boolean!) { me { ...Names @include(if: $x) } } "
        "fragment Names on User { name ...More } fragment More on User { username }"
    )
    assert [compact(f) for f in printed(prepared.root_fields)] == [
        "me { ... on User @include(if: $x) { name ... on User { username } } }"
    ]


def test_a_fragment_spread_many_times_is_inlined_once_and_shared() -> None:
    document = parse("{ a: me { ...F } b: me { ...F } } fragment F on User { id name }")
    operation = find_operation(document, None)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    inlined = inline_fragments(operation.selection_set.selections, fragments)
    spreads = []
    for field in inlined:
        assert isinstance(field, FieldNode)
        assert field.selection_set is not None
        spread = field.selection_set.selections[0]
        assert isinstance(spread, InlineFragmentNode)
        assert spread.type_condition is not None
        assert spread.type_condition.name.value == "User"
        spreads.append(spread)
    assert spreads[0].selection_set is spreads[1].selection_set


def test_literal_conditions_are_removed_and_an_emptied_selection_selects_typename() -> None:
    prepared = prepare(
        "{ me { id name @skip(if: true) } a: me @include(if: false) { id } "
        "b: me { ... @include(if: false) { id } } c: me @include(if: true) { id } }"
    )
    assert [compact(f) for f in printed(prepared.root_fields)] == [
        "me { id }",
        "b: me { __typename }",
        "c: me @include(if: true) { id }",
    ]


def test_root_fragments_are_flattened_and_introspection_left_out() -> None:
    prepared = prepare(
        "{ __typename __schema { queryType { name } } ... on Query { me { id } } "
        "...Root } fragment Root on Query { reviews { id } }"
    )
    assert [compact(f) for f in printed(prepared.root_fields)] == ["me { id }", "reviews { id }"]


def test_variable_definitions_are_printed_by_name() -> None:
    prepared = prepare("query($u: String!, $n: Int = 3) { product(upc: $u) { upc } }")
    assert prepared.kind == "query"
    assert prepared.root_type == "Query"
    assert dict(prepared.variable_definitions) == {"u": "$u: String!", "n": "$n: Int = 3"}


def test_a_query_is_one_batch_and_a_mutation_one_batch_per_root_field() -> None:
    query = prepare("{ me { id } reviews { id } }")
    assert [len(batch) for batch in query.batches()] == [2]
    mutation = prepare('mutation { a: renameUser(id: "1", name: "x") { id } b: failingMutation }')
    assert mutation.root_type == "Mutation"
    assert [[compact(f) for f in printed(batch)] for batch in mutation.batches()] == [
        ['a: renameUser(id: "1", name: "x") { id }'],
        ["b: failingMutation"],
    ]
    assert prepare("mutation { __typename }").batches() == ()


@pytest.mark.parametrize(
    ("document", "name", "message"),
    [
        ("query A { me { id } }", "B", "unknown operation named 'B'"),
        ("query A { me { id } } query B { me { id } }", None, "must provide operation name"),
        ("subscription { me { id } }", None, "subscriptions are not supported"),
    ],
)
def test_operations_that_cannot_be_prepared(document: str, name: str | None, message: str) -> None:
    with pytest.raises(PlanningError, match=message):
        prepare(document, name)


def test_a_schema_without_the_operation_kind_is_refused() -> None:
    sdl = (Path(__file__).parent / "fixtures" / "supergraph.graphql").read_text()
    without_mutation = parse_supergraph(sdl.replace("  mutation: Mutation\n", "", 1))
    assert "mutation" not in without_mutation.root_types
    with pytest.raises(PlanningError, match="the schema has no mutation type"):
        prepare_operation(without_mutation, parse("mutation { failingMutation }"))


def test_the_operation_is_picked_by_name() -> None:
    document = parse("query A { me { id } } query B { reviews { id } }")
    prepared = prepare_operation(SUPERGRAPH, document, "B")
    assert [compact(f) for f in printed(prepared.root_fields)] == ["reviews { id }"]
