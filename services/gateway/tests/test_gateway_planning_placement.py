"""Planning stage 2's rules: which subgraph can resolve a field where it is asked, and through
which subgraph and key it is reached otherwise (``Placement``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import FieldNode, OperationDefinitionNode, parse

from nova_gateway.federation.planning.field_sets import parse_field_set
from nova_gateway.federation.planning.placement import Placement
from nova_gateway.federation.supergraph.parse import parse_supergraph

FIXTURES = Path(__file__).parent / "fixtures"
PLACEMENT = Placement(parse_supergraph((FIXTURES / "supergraph.graphql").read_text()))
SHAPES = Placement(parse_supergraph((FIXTURES / "shapes" / "supergraph.graphql").read_text()))


def root_field(query: str) -> FieldNode:
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    field = operation.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    return field


@pytest.mark.parametrize(
    ("graph", "parent", "name", "resolvable"),
    [
        ("products", "Product", "name", True),
        ("reviews", "Product", "name", True),  # @shareable
        ("reviews", "User", "username", False),  # @external without @provides
        ("inventory", "Product", "inStock", True),
        ("inventory", "Product", "shippingEstimate", False),  # @requires: fetched after
        ("accounts", "User", "nickname", False),  # @override moved it to reviews
        ("reviews", "User", "nickname", True),
        ("products", "Media", "title", True),
    ],
)
def test_a_subgraph_resolves_a_field_itself(
    graph: str, parent: str, name: str, resolvable: bool
) -> None:
    assert PLACEMENT.resolvable_in(graph, parent, name, None) is resolvable


def test_provides_makes_an_external_field_local_under_that_field_only() -> None:
    provided = PLACEMENT.field_provides("reviews", "Review", "author", None)
    assert provided == {"username": {}}
    assert PLACEMENT.resolvable_in("reviews", "User", "username", provided)
    assert PLACEMENT.field_provides("reviews", "Review", "product", None) is None


def test_a_key_is_locally_available_only_when_every_key_field_is() -> None:
    assert PLACEMENT.locally_available("reviews", "Product", parse_field_set("upc"), None)
    assert not PLACEMENT.locally_available("reviews", "Product", parse_field_set("sku brand"), None)
    assert PLACEMENT.locally_available(
        "products", "Warehouse", parse_field_set("code location { city }"), None
    )


def test_entity_jumps_go_to_subgraphs_with_a_resolvable_key() -> None:
    assert PLACEMENT.key_candidates("Product", "inStock") == ["inventory"]
    assert PLACEMENT.key_candidates("Product", "name") == ["products", "reviews"]
    # accounts declares Product's key as resolvable: false and resolves no field of it
    assert "accounts" not in PLACEMENT.key_candidates("Product", "upc")


def test_interface_objects_get_their_typename_from_a_subgraph_with_the_interface() -> None:
    assert PLACEMENT.is_interface_object("reviews", "Media")
    assert PLACEMENT.typename_owner("reviews", "Media") == "products"
    assert PLACEMENT.typename_owner("products", "Media") is None
    assert PLACEMENT.interface_jump("Media", "rating") == "reviews"
    assert PLACEMENT.interface_owning("Book", "rating") == "Media"


def test_type_conditions_match_as_in_the_supergraph() -> None:
    assert PLACEMENT.matches("Book", "Media")
    assert PLACEMENT.matches("Book", "Book")
    assert not PLACEMENT.matches("Book", "Movie")
    assert PLACEMENT.ordered({"User", "Movie", "Product"}) == ["User", "Product", "Movie"]


def test_local_count_counts_the_selection_a_subgraph_resolves_where_it_is() -> None:
    field = root_field("{ reviews { id body author { username name } product { name upc } } }")
    assert field.selection_set is not None
    selections = field.selection_set.selections
    # id, body, author, author.username (provided), product, product.name, product.upc
    assert PLACEMENT.local_count("reviews", "Review", selections, None) == 7


def test_a_shared_root_field_comes_from_the_subgraph_resolving_most_of_its_selection() -> None:
    field = root_field("{ items { ... on Novel { id title } } }")
    candidates = SHAPES.supergraph.resolving_graphs("Query", "items")
    assert len(candidates) > 1
    assert SHAPES.root_subgraph("Query", field, candidates, ()) == "shelf"


def test_a_root_field_with_one_subgraph_or_no_selection_prefers_one_already_fetched() -> None:
    assert PLACEMENT.root_subgraph("Query", root_field("{ me { id } }"), ["accounts"], ()) == (
        "accounts"
    )
    field = root_field("{ anything }")
    assert PLACEMENT.root_subgraph("Query", field, ["a", "b"], {"b"}) == "b"
    assert PLACEMENT.root_subgraph("Query", field, ["a", "b"], ()) == "a"
