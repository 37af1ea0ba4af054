"""Field sets: the ``fields:`` strings of ``@key``, ``@requires`` and ``@provides``.

Parsed into selections the planner plans like client fields, and turned into the shapes that
copy key and required values from the response data into ``_entities`` representations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from graphql import FieldNode, InlineFragmentNode, OperationDefinitionNode, SelectionNode, parse

from nova_gateway.federation.planning.plan import ShapeField

Provided = dict[str, "Provided"]
"""Fields a subgraph resolves at one position thanks to ``@provides`` (name → nested fields);
fields under a type condition are kept under ``"... on Type"``, for objects of that type only."""

CONDITION_PREFIX = "... on "


def parse_field_set(field_set: str) -> tuple[SelectionNode, ...]:
    """``"sku brand { id }"`` as the selections of a selection set."""
    document = parse(f"{{ {field_set} }}", no_location=True)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return tuple(operation.selection_set.selections)


def provided_fields(selections: Sequence[SelectionNode]) -> Provided:
    """The fields a ``@provides`` field set makes local, by name."""
    provided: Provided = {}
    for selection in selections:
        if isinstance(selection, FieldNode):
            nested = selection.selection_set.selections if selection.selection_set else ()
            provided.setdefault(selection.name.value, {}).update(provided_fields(nested))
        elif isinstance(selection, InlineFragmentNode):
            inner = provided_fields(selection.selection_set.selections)
            if selection.type_condition is None:
                provided.update(inner)
            else:
                key = f"{CONDITION_PREFIX}{selection.type_condition.name.value}"
                provided.setdefault(key, {}).update(inner)
    return provided


def representation_shape(
    selections: Sequence[SelectionNode],
    expand: Callable[[str], Iterable[str]] | None = None,
    types: frozenset[str] | None = None,
) -> tuple[ShapeField, ...]:
    """What to copy from the data into a representation for these key or required fields.
    A field under a type condition is copied only from objects of the types ``expand`` gives
    for that condition (the condition itself by default)."""
    shape: list[ShapeField] = []
    for selection in selections:
        if isinstance(selection, FieldNode):
            nested = selection.selection_set.selections if selection.selection_set else ()
            name = selection.name.value
            key = selection.alias.value if selection.alias else name
            shape.append(ShapeField(key, name, representation_shape(nested, expand), types))
        elif isinstance(selection, InlineFragmentNode):
            inner = types
            if selection.type_condition is not None:
                condition = selection.type_condition.name.value
                narrowed = frozenset(expand(condition) if expand else (condition,))
                inner = narrowed if types is None else types & narrowed
            shape.extend(representation_shape(selection.selection_set.selections, expand, inner))
    return tuple(shape)


def merge_shape(into: dict[str, ShapeField], shape: tuple[ShapeField, ...]) -> None:
    """Add ``shape`` to the shape ``into`` (by response key), merging nested fields and the
    types each applies to."""
    for item in shape:
        existing = into.get(item.response_key)
        if existing is None:
            into[item.response_key] = item
            continue
        types = (
            None if existing.types is None or item.types is None else existing.types | item.types
        )
        merged = {s.response_key: s for s in existing.shape}
        merge_shape(merged, item.shape)
        into[item.response_key] = ShapeField(
            item.response_key, item.name, tuple(merged.values()), types
        )
