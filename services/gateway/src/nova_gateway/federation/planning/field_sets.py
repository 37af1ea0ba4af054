"""Field sets: the ``fields:`` strings of ``@key``, ``@requires`` and ``@provides``.

Parsed into selections the planner plans like client fields, aliased so they never take a
response key the client (or another field set) uses for something else, and turned into the
shapes that copy key and required values from the response data into ``_entities``
representations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from graphql import (
    FieldNode,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    parse,
    print_ast,
)

from nova_gateway.federation.errors import INTERNAL_ALIAS_PREFIX
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


def alias_arguments(selections: Sequence[SelectionNode]) -> tuple[SelectionNode, ...]:
    """Give every field with arguments (at any depth) the response key
    ``_nova_<name>_<digest of its arguments>``: the same field with other arguments, asked for
    by the client or another ``@requires``, never shares its response key."""
    rewritten: list[SelectionNode] = []
    for selection in selections:
        if isinstance(selection, InlineFragmentNode):
            rewritten.append(
                InlineFragmentNode(
                    type_condition=selection.type_condition,
                    directives=selection.directives,
                    selection_set=SelectionSetNode(
                        selections=alias_arguments(selection.selection_set.selections)
                    ),
                )
            )
            continue
        if not isinstance(selection, FieldNode):
            rewritten.append(selection)
            continue
        alias = selection.alias
        if selection.arguments and alias is None:
            printed = ", ".join(print_ast(argument) for argument in selection.arguments)
            digest = hashlib.sha256(printed.encode()).hexdigest()[:8]
            alias = NameNode(value=f"{INTERNAL_ALIAS_PREFIX}{selection.name.value}_{digest}")
        selection_set = selection.selection_set
        if selection_set is not None:
            selection_set = SelectionSetNode(selections=alias_arguments(selection_set.selections))
        rewritten.append(_realiased(selection, alias, selection_set))
    return tuple(rewritten)


def alias_taken_keys(
    selections: Sequence[SelectionNode], client: Sequence[SelectionNode]
) -> tuple[SelectionNode, ...]:
    """Alias the key or required fields whose name the client uses (in ``client``, its
    selections at the same position) as the response key of another field (at any depth of a
    nested key), or of the same field when it takes arguments (the client's arguments may
    differ)."""
    taken = _response_keys(client)
    rewritten: list[SelectionNode] = []
    for selection in selections:
        if not isinstance(selection, FieldNode):
            rewritten.append(selection)
            continue
        name = selection.name.value
        if selection.alias is not None:
            # Already under an internal alias (see alias_arguments): no client key clashes.
            rewritten.append(selection)
            continue
        if taken.get(name) not in (None, name) or (name in taken and selection.arguments):
            alias: NameNode | None = NameNode(value=f"{INTERNAL_ALIAS_PREFIX}{name}")
            selection_set = selection.selection_set
        else:
            alias = None
            selection_set = selection.selection_set
            if selection_set is not None:
                nested = alias_taken_keys(selection_set.selections, _client_children(client, name))
                selection_set = SelectionSetNode(selections=nested)
        rewritten.append(_realiased(selection, alias, selection_set))
    return tuple(rewritten)


def compatible(representation: Mapping[str, ShapeField], shape: Sequence[ShapeField]) -> bool:
    """True when ``shape`` can join ``representation``: no field name would carry two values
    (the same field fetched with different arguments, under different response keys)."""
    by_name = {item.name: item for item in representation.values()}
    for item in shape:
        existing = by_name.get(item.name)
        if existing is None:
            continue
        if existing.response_key != item.response_key:
            return False
        if item.shape and not compatible({s.response_key: s for s in existing.shape}, item.shape):
            return False
    return True


def _client_children(
    client: Sequence[SelectionNode], response_key: str
) -> tuple[SelectionNode, ...]:
    """The client's sub-selections of the fields answering under ``response_key``."""
    children: list[SelectionNode] = []
    for selection in client:
        if isinstance(selection, FieldNode):
            if (selection.alias or selection.name).value == response_key and (
                selection.selection_set is not None
            ):
                children.extend(selection.selection_set.selections)
        elif isinstance(selection, InlineFragmentNode):
            children.extend(_client_children(selection.selection_set.selections, response_key))
    return tuple(children)


def _response_keys(selections: Sequence[SelectionNode]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for selection in selections:
        if isinstance(selection, FieldNode):
            keys.setdefault((selection.alias or selection.name).value, selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            keys.update(_response_keys(selection.selection_set.selections))
    return keys


def _realiased(
    field: FieldNode, alias: NameNode | None, selection_set: SelectionSetNode | None
) -> FieldNode:
    """``field`` under ``alias`` with ``selection_set``."""
    return FieldNode(
        alias=alias,
        name=field.name,
        arguments=field.arguments,
        directives=field.directives,
        selection_set=selection_set,
    )
