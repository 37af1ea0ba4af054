"""Execution, merge: each subgraph answer merged into the response data it was asked for."""

from __future__ import annotations

from typing import Any

from nova_gateway.federation.execution.merge import deep_merge, restore_type_aliases


def test_answers_merge_into_nested_objects_and_lists_item_by_item() -> None:
    data: dict[str, Any] = {"topProducts": [{"upc": "1"}, {"upc": "2"}], "me": {"id": "u"}}
    deep_merge(data, {"topProducts": [{"name": "A"}, {"name": "B"}], "me": {"name": "Ada"}})
    assert data == {
        "topProducts": [{"upc": "1", "name": "A"}, {"upc": "2", "name": "B"}],
        "me": {"id": "u", "name": "Ada"},
    }


def test_lists_of_other_lengths_and_scalars_are_replaced() -> None:
    data: dict[str, Any] = {"tags": ["a"], "grid": [[{"x": 1}]], "count": 1}
    deep_merge(data, {"tags": ["b", "c"], "grid": [[{"y": 2}]], "count": None})
    assert data == {"tags": ["b", "c"], "grid": [[{"x": 1, "y": 2}]], "count": None}


def test_the_first_typename_wins() -> None:
    # an @interfaceObject subgraph answers with the interface's name; the concrete type came first
    data: dict[str, Any] = {"__typename": "Book", "id": "1"}
    deep_merge(data, {"__typename": "Media", "rating": 5})
    assert data == {"__typename": "Book", "id": "1", "rating": 5}


def test_type_aliases_are_renamed_back_at_any_depth() -> None:
    value: Any = [{"_nova_as1_mark": "x", "inner": {"_nova_as2_code": 3, "code": None}}, 7]
    restore_type_aliases(value)
    assert value == [{"mark": "x", "inner": {"code": 3}}, 7]
